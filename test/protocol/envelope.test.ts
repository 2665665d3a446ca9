import { describe, expect, it } from 'vitest'
import { canonicalJson } from '../../src/crypto/canonical.js'
import { identityFromSeed, SignatureVerifier } from '../../src/crypto/identity.js'
import { byHash, openEnvelope, openKnown, signEnvelope } from '../../src/protocol/envelope.js'
import { MAX_ENVELOPE_BYTES } from '../../src/protocol/limits.js'

const alice = identityFromSeed(Buffer.alloc(32, 1))
const mallory = identityFromSeed(Buffer.alloc(32, 2))
const round = 'ab'.repeat(32)
const verifier = new SignatureVerifier()
const reveal = () =>
  signEnvelope(alice, {
    type: 'AnswerReveal',
    round,
    seq: 2,
    body: { answer: 'forty-two "quoted", \u00e9', salt: 'cd'.repeat(32), usage: { prompt: 0, completion: 0 } },
  })
const code = (fn: () => unknown) => {
  try {
    fn()
  } catch (e) {
    return (e as { code: string }).code
  }
  return 'accepted'
}
const reencode = (mutate: (o: Record<string, unknown>) => void) => {
  const o = JSON.parse(reveal().wire.toString())
  mutate(o)
  return Buffer.from(canonicalJson(o))
}

describe('envelopes', () => {
  it('round-trips: what is signed opens with the same content and hash', () => {
    const m = reveal()
    const o = openEnvelope(m.wire, verifier)
    expect(o.env).toEqual(m.env)
    expect(o.hash).toBe(m.hash)
  })

  it('openKnown gives back a message already checked for its exact bytes, and checks anything else', () => {
    const m = reveal()
    const known = byHash([m])
    expect(openKnown(Buffer.from(m.wire), known, verifier)).toBe(m)
    const other = signEnvelope(alice, { type: 'Join', round, seq: 1, body: { ticket: '1' } })
    expect(openKnown(other.wire, known, verifier)).not.toBe(other)
    expect(openKnown(other.wire, known, verifier).hash).toBe(other.hash)
    expect(code(() => openKnown(reencode((o) => void (o.seq = 3)), known, verifier))).toBe('BAD_SIGNATURE')
  })

  it('rejects a forged signature, an altered body, and a sender swap', () => {
    expect(
      code(() =>
        openEnvelope(
          reencode(
            (o) =>
              (o.sig = signEnvelope(mallory, {
                type: 'AnswerReveal',
                round,
                seq: 2,
                body: (o as { body: never }).body,
              }).env.sig),
          ),
          verifier,
        ),
      ),
    ).toBe('BAD_SIGNATURE')
    expect(
      code(() =>
        openEnvelope(
          reencode((o) => ((o.body as { answer: string }).answer = '41')),
          verifier,
        ),
      ),
    ).toBe('BAD_SIGNATURE')
    expect(
      code(() =>
        openEnvelope(
          reencode((o) => (o.from = mallory.id)),
          verifier,
        ),
      ),
    ).toBe('BAD_SIGNATURE')
    expect(
      code(() =>
        openEnvelope(
          reencode((o) => (o.seq = 3)),
          verifier,
        ),
      ),
    ).toBe('BAD_SIGNATURE')
  })

  it('rejects oversized, non-JSON, non-UTF-8 and non-canonical input before verifying', () => {
    expect(code(() => openEnvelope(Buffer.alloc(MAX_ENVELOPE_BYTES + 1, 32), verifier))).toBe('OVERSIZED')
    expect(code(() => openEnvelope(Buffer.from('{"body":'), verifier))).toBe('MALFORMED')
    expect(code(() => openEnvelope(Buffer.from([0xf0, 0x90, 0x80, 0x41]), verifier))).toBe('MALFORMED')
    const text = reveal().wire.toString()
    expect(code(() => openEnvelope(Buffer.from(text.replace('{"body":', '{ "body":')), verifier))).toBe(
      'MALFORMED',
    )
    // The same content with keys out of order is a second encoding: refused.
    const o = JSON.parse(text)
    const shuffled = {
      v: o.v,
      type: o.type,
      sig: o.sig,
      seq: o.seq,
      round: o.round,
      from: o.from,
      body: o.body,
    }
    expect(code(() => openEnvelope(Buffer.from(JSON.stringify(shuffled)), verifier))).toBe('MALFORMED')
  })

  it('rejects schema violations with the path: unknown fields, floats, wrong types, bad versions', () => {
    expect(
      code(() =>
        openEnvelope(
          reencode((o) => ((o.body as Record<string, unknown>).extra = 1)),
          verifier,
        ),
      ),
    ).toBe('SCHEMA')
    expect(
      code(() =>
        openEnvelope(
          reencode((o) => (o.type = 'Nonsense')),
          verifier,
        ),
      ),
    ).toBe('SCHEMA')
    expect(
      code(() =>
        openEnvelope(
          reencode((o) => (o.v = 2)),
          verifier,
        ),
      ),
    ).toBe('VERSION')
    expect(
      code(() =>
        openEnvelope(
          reencode((o) => (o.round = 'xyz')),
          verifier,
        ),
      ),
    ).toBe('SCHEMA')
    const withFloat = Buffer.from(reveal().wire.toString().replace('"seq":2', '"seq":2.5'))
    expect(code(() => openEnvelope(withFloat, verifier))).toBe('SCHEMA')
    const p = signEnvelope(alice, {
      type: 'VerdictReveal',
      round,
      seq: 0,
      body: { verdicts: [{ a: alice.id, b: mallory.id, v: 'A', p: 7000 }], salt: 'cd'.repeat(32), usage: { prompt: 0, completion: 0 } },
    })
    expect(
      code(() => openEnvelope(Buffer.from(p.wire.toString().replace('"p":7000', '"p":0.7')), verifier)),
    ).toBe('SCHEMA')
  })
})
