import { isUtf8 } from 'node:buffer'
import { canonicalJson } from '../crypto/canonical.js'
import { isLowerHex } from '../crypto/hex.js'
import { sha256Hex } from '../crypto/hash.js'
import { type Identity, type SignatureVerifier, signBytes } from '../crypto/identity.js'
import { ProtocolError } from './errors.js'
import { MAX_ENVELOPE_BYTES, PROTOCOL_VERSION } from './limits.js'
import { BODY_SCHEMAS, type BodyOf, isMessageType, type MessageType } from './messages.js'
import { type Check, checked, int, nodeId } from './schema.js'

/**
 * The signed envelope `{v, type, round, from, seq, body, sig}`. `sig` is ed25519 over
 * `"chorus/v1/" + type + "\n" + canonical({v, type, round, from, seq, body})`; the envelope's hash
 * (its identity in seals and the transcript) is SHA-256 over the canonical bytes with `sig`.
 */
export interface Envelope<T extends MessageType = MessageType> {
  v: number
  type: T
  round: string
  from: string
  seq: number
  body: BodyOf<T>
  sig: string
}

/** An envelope whose schema and signature have been checked, with its wire bytes and hash. */
export interface Signed<T extends MessageType = MessageType> {
  readonly env: Envelope<T>
  readonly wire: Buffer
  readonly hash: string
}

/** A verified message; its hash is computed when first asked for (most receivers never ask). */
class SignedMessage implements Signed {
  constructor(
    readonly env: Envelope,
    readonly wire: Buffer,
    private cachedHash?: string,
  ) {}

  get hash(): string {
    if (this.cachedHash === undefined) this.cachedHash = sha256Hex(this.wire)
    return this.cachedHash
  }
}

/** Optional accounting of time spent in signing and verification (benchmarks read it). */
export interface CryptoMeter {
  signMs: number
  verifyMs: number
  signs: number
  verifies: number
}

export function createCryptoMeter(): CryptoMeter {
  return { signMs: 0, verifyMs: 0, signs: 0, verifies: 0 }
}

function unsignedCanonical(e: Omit<Envelope, 'sig'>): { head: string; tail: string } {
  // Sorted key order is body, from, round, seq, (sig), type, v; splitting around sig lets one body
  // encoding serve both the signed bytes and the wire bytes.
  const head = `{"body":${canonicalJson(e.body)},"from":${JSON.stringify(e.from)},"round":${JSON.stringify(e.round)},"seq":${e.seq}`
  const tail = `"type":${JSON.stringify(e.type)},"v":${e.v}}`
  return { head, tail }
}

function signingBytes(type: string, head: string, tail: string): Buffer {
  return Buffer.from(`chorus/v1/${type}\n${head},${tail}`, 'utf8')
}

export function signEnvelope<T extends MessageType>(
  identity: Identity,
  msg: { type: T; round: string; seq: number; body: BodyOf<T> },
  meter?: CryptoMeter,
): Signed<T> {
  const unsigned = {
    v: PROTOCOL_VERSION,
    type: msg.type,
    round: msg.round,
    from: identity.id,
    seq: msg.seq,
    body: msg.body,
  }
  const { head, tail } = unsignedCanonical(unsigned)
  const t0 = meter ? performance.now() : 0
  const sig = signBytes(identity, signingBytes(msg.type, head, tail))
  if (meter) {
    meter.signMs += performance.now() - t0
    meter.signs++
  }
  const wire = Buffer.from(`${head},"sig":"${sig}",${tail}`, 'utf8')
  // Keys in canonical order, as a parsed envelope has them: re-encoding it takes the fast path.
  const env = { body: msg.body, from: identity.id, round: msg.round, seq: msg.seq, sig, type: msg.type, v: PROTOCOL_VERSION }
  return new SignedMessage(env, wire) as unknown as Signed<T>
}

const seqCheck = int(0, Number.MAX_SAFE_INTEGER)
const ENVELOPE_KEYS = new Set(['v', 'type', 'round', 'from', 'seq', 'body', 'sig'])

/**
 * Decodes and fully checks a wire message: size first, then UTF-8 and JSON, the closed schema (with
 * keys in canonical order), version, canonical form, and the signature. Anything that returns has
 * been verified; anything else throws a coded ProtocolError and must be dropped.
 *
 * Canonical form is checked without re-encoding: keys are sorted (checked by the schema walk), so
 * the bytes are canonical iff they are valid UTF-8 and JSON.stringify reproduces the text. The
 * signed bytes are then the text with its `"sig"` member cut out (quotes inside strings are always
 * escaped, so the last `,"sig":"` is the envelope's own).
 */
export function openEnvelope(wire: Uint8Array, verifier: SignatureVerifier, meter?: CryptoMeter): Signed {
  const u = unverified(wire)
  const t0 = meter ? performance.now() : 0
  const ok = verifier.verify(u.env.from, u.signed, u.env.sig)
  if (meter) {
    meter.verifyMs += performance.now() - t0
    meter.verifies++
  }
  return accept(u, ok)
}

/**
 * `openEnvelope`, except that bytes whose hash is one of `known`'s (messages this process opened
 * and checked already, by hash: `byHash`) give that message back unchecked: the same bytes cannot
 * verify differently.
 */
export function openKnown(wire: Uint8Array, known: ReadonlyMap<string, Signed>, verifier: SignatureVerifier): Signed {
  return (known.size === 0 ? undefined : known.get(sha256Hex(wire))) ?? openEnvelope(wire, verifier)
}

/** Messages by hash, for `openKnown`. */
export function byHash(msgs: readonly Signed[] = []): ReadonlyMap<string, Signed> {
  return new Map(msgs.map((m) => [m.hash, m]))
}

/**
 * `openEnvelope` with the signature checked on the thread pool. Every check but the signature runs
 * before this returns, so malformed input still fails synchronously, with its code.
 */
export function openEnvelopeAsync(wire: Uint8Array, verifier: SignatureVerifier, meter?: CryptoMeter): Promise<Signed> {
  const u = unverified(wire)
  if (meter) meter.verifies++
  return verifier.verifyAsync(u.env.from, u.signed, u.env.sig).then((ok) => accept(u, ok))
}

/**
 * An envelope that `openEnvelope` accepted, on another thread of this process, from exactly these
 * canonical bytes, with the hash that thread computed (EnvelopeOpenerPool's workers): it is only
 * parsed here, not checked again. Its keys come out in canonical order because the bytes are
 * canonical.
 */
export function openedElsewhere(text: string, hash: string): Signed {
  return new SignedMessage(JSON.parse(text) as Envelope, Buffer.from(text, 'utf8'), hash)
}

interface Unverified {
  env: Envelope
  buf: Buffer
  signed: Buffer
}

function unverified(wire: Uint8Array): Unverified {
  if (wire.length > MAX_ENVELOPE_BYTES) throw new ProtocolError('OVERSIZED', `${wire.length} bytes > ${MAX_ENVELOPE_BYTES}`)
  const buf = Buffer.isBuffer(wire) ? wire : Buffer.from(wire.buffer, wire.byteOffset, wire.length)
  if (!isUtf8(buf)) throw new ProtocolError('MALFORMED', 'not UTF-8')
  const text = buf.toString('utf8')
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    throw new ProtocolError('MALFORMED', 'not JSON')
  }
  const env = checkEnvelope(raw)
  if (!isCanonical(raw as Envelope, env, text)) throw new ProtocolError('MALFORMED', 'not in canonical form')
  // The signed bytes are cut from the wire bytes (copying, not re-encoding, the text).
  const cut = buf.lastIndexOf(SIG_MEMBER_BYTES)
  const signed = Buffer.concat([Buffer.from(`chorus/v1/${env.type}\n`), buf.subarray(0, cut), COMMA, buf.subarray(cut + SIG_MEMBER.length + 130)])
  return { env, buf, signed }
}

function accept(u: Unverified, ok: boolean): Signed {
  if (!ok) throw new ProtocolError('BAD_SIGNATURE', `bad signature on ${u.env.type} from ${u.env.from.slice(0, 8)}`)
  return new SignedMessage(u.env, u.buf)
}

const SIG_MEMBER = ',"sig":"'
const SIG_MEMBER_BYTES = Buffer.from(SIG_MEMBER)
const COMMA = Buffer.from(',')

/** The field of each seal that holds its packed list: the bulk of a seal's bytes. */
const PACKED_FIELD: Partial<Record<MessageType, string>> = {
  Members: 'joins',
  CommitsSealed: 'commits',
  RevealsSealed: 'reveals',
  VerdictCommitsSealed: 'commits',
  VerdictsSealed: 'reveals',
}

/**
 * Whether `text` is exactly JSON.stringify(raw). For a seal, the schema has already checked that its
 * packed list is plain lowercase hex, which JSON writes verbatim; so the list is cut out and only
 * the rest re-encoded (JSON.stringify scans every character of a long string: 36 µs for a
 * 100-member seal, against about 3 µs this way).
 */
function isCanonical(raw: Envelope, env: Envelope, text: string): boolean {
  const field = PACKED_FIELD[env.type]
  const body = raw.body as Record<string, unknown>
  const packed = field === undefined ? undefined : body[field]
  if (typeof packed !== 'string' || packed.length < 256) return JSON.stringify(raw) === text
  const rest = JSON.stringify({ ...raw, body: { ...body, [field!]: '' } })
  // The body's keys precede "from" and every other string is hex, so the marker occurs once.
  const marker = `"${field}":"`
  const at = rest.indexOf(marker) + marker.length
  // One equality of flat strings (a memory compare), not startsWith, which walks character by character.
  return at >= marker.length && text.length === rest.length + packed.length && text === rest.slice(0, at) + packed + rest.slice(at)
}

/** Structural check of a decoded envelope (no signature): used on the wire and on transcripts. */
export function checkEnvelope(raw: unknown): Envelope {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ProtocolError('MALFORMED', 'not an object')
  const r = raw as Record<string, unknown>
  let prev = ''
  for (const k in r) {
    if (!ENVELOPE_KEYS.has(k)) throw new ProtocolError('SCHEMA', `envelope.${k}: unknown field`)
    if (k <= prev) throw new ProtocolError('MALFORMED', 'envelope keys not in canonical order')
    prev = k
  }
  if (r.v !== PROTOCOL_VERSION)
    throw new ProtocolError(
      'VERSION',
      `protocol version ${String(r.v)} is not supported (this node runs ${PROTOCOL_VERSION})`,
    )
  if (!isMessageType(r.type))
    throw new ProtocolError('SCHEMA', `envelope.type: unknown message type ${String(r.type)}`)
  if (typeof r.round !== 'string' || !isLowerHex(r.round, 64))
    throw new ProtocolError('SCHEMA', 'envelope.round: expected 32-byte hex')
  if (typeof r.sig !== 'string' || !isLowerHex(r.sig, 128))
    throw new ProtocolError('SCHEMA', 'envelope.sig: expected 64-byte hex')
  const from = checked(nodeId, r.from, 'envelope.from')
  const seq = checked(seqCheck, r.seq, 'envelope.seq')
  const body = checked(BODY_SCHEMAS[r.type] as Check<unknown>, r.body, r.type)
  // In canonical key order, as it arrived: encoding it again takes canonicalJson's fast path.
  return { body, from, round: r.round, seq, sig: r.sig, type: r.type, v: PROTOCOL_VERSION } as Envelope
}

export function isType<T extends MessageType>(s: Signed, type: T): s is Signed<T> {
  return s.env.type === type
}
