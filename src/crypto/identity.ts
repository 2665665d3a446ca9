import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto'
import sodium from 'sodium-native'
import { isLowerHex } from './hex.js'
import { isWeakPublicKey } from './weakKeys.js'

/**
 * A malformed id or signature is a failure before any curve arithmetic. So is a signature whose R
 * is a point of small order (or not canonically encoded): libsodium refuses those and OpenSSL does
 * not (with R the identity and S = k·a, OpenSSL accepts a signature libsodium rejects). Refusing
 * them here first makes the two libraries accept exactly the same signatures (both also refuse
 * S ≥ L, and node ids already exclude weak keys), which matters because a process checks some
 * signatures with one and some with the other: verdicts on a transcript must not depend on which.
 */
const malformed = (nodeId: string, sigHex: string) => !isNodeId(nodeId) || !isLowerHex(sigHex, 128) || isWeakPublicKey(sigHex.slice(0, 64))

/** A node's identity: an ed25519 key pair. Its id is the hex of the raw 32-byte public key. */
export interface Identity {
  readonly id: string
  readonly privateKey: KeyObject
}

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
/** A node id is a canonical ed25519 public key of large order, as 64 lowercase hex characters. */
export function isNodeId(s: string): boolean {
  return isLowerHex(s, 64) && !isWeakPublicKey(s)
}

export function generateIdentity(): Identity {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  return { id: rawPublicKey(publicKey).toString('hex'), privateKey }
}

/** Deterministic identity from a 32-byte seed (tests, benchmarks, key files). */
export function identityFromSeed(seed: Uint8Array): Identity {
  if (seed.length !== 32) throw new RangeError('an ed25519 seed is 32 bytes')
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  })
  return { id: rawPublicKey(createPublicKey(privateKey)).toString('hex'), privateKey }
}

/** The 32-byte seed of an identity, for writing a key file. */
export function identitySeed(identity: Identity): Buffer {
  const der = identity.privateKey.export({ format: 'der', type: 'pkcs8' })
  return der.subarray(der.length - 32)
}

function rawPublicKey(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length)
}

export function signBytes(identity: Identity, message: Uint8Array): string {
  return sign(null, message, identity.privateKey).toString('hex')
}

/**
 * Parsed public keys by node id. Parsing costs a third of a verification, and the result is a pure
 * function of the id, so one cache can serve every verifier in a process (several nodes hosted
 * together share it). Bounded: the oldest entry goes first.
 */
export class PublicKeyCache {
  private readonly keys = new Map<string, KeyObject>()

  constructor(private readonly maxKeys = 4096) {}

  get(nodeId: string): KeyObject {
    let key = this.keys.get(nodeId)
    if (key === undefined) {
      key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, Buffer.from(nodeId, 'hex')]), format: 'der', type: 'spki' })
      if (this.keys.size >= this.maxKeys) this.keys.delete(this.keys.keys().next().value as string)
      this.keys.set(nodeId, key)
    }
    return key
  }
}

/**
 * Verifies ed25519 signatures by node id: on the calling thread with libsodium (about twice as fast
 * as node:crypto here: 56–94 µs against 129–145), or on libuv's thread pool with node:crypto.
 */
export class SignatureVerifier {
  constructor(private readonly keys = new PublicKeyCache()) {}

  verify(nodeId: string, message: Uint8Array, sigHex: string): boolean {
    if (malformed(nodeId, sigHex)) return false
    return sodium.crypto_sign_verify_detached(Buffer.from(sigHex, 'hex'), message, Buffer.from(nodeId, 'hex'))
  }

  /**
   * The same check on libuv's thread pool (node:crypto has an asynchronous verify; libsodium's
   * binding has none): the event loop stays free, and a process verifying many messages uses every
   * core.
   */
  verifyAsync(nodeId: string, message: Uint8Array, sigHex: string): Promise<boolean> {
    if (malformed(nodeId, sigHex)) return Promise.resolve(false)
    const sig = Buffer.from(sigHex, 'hex')
    if (sig.length !== 64) return Promise.resolve(false)
    const key = this.key(nodeId)
    return new Promise((resolve) => verify(null, message, key, sig, (err, ok) => resolve(err === null && ok)))
  }

  private key(nodeId: string): KeyObject {
    return this.keys.get(nodeId)
  }
}
