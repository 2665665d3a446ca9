import { createPublicKey, verify } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { generateIdentity, isNodeId, SignatureVerifier } from '../../src/crypto/identity.js'
import { isWeakPublicKey } from '../../src/crypto/weakKeys.js'
import { signEnvelope } from '../../src/protocol/envelope.js'
import { ProtocolError } from '../../src/protocol/errors.js'
import { checkEnvelope } from '../../src/protocol/envelope.js'

// Curve arithmetic for the test only: edwards25519, −x² + y² = 1 + d·x²·y² over p = 2²⁵⁵ − 19.
const p = 2n ** 255n - 19n
const mod = (a: bigint) => ((a % p) + p) % p
const pow = (b: bigint, e: bigint): bigint => {
  let r = 1n
  for (b = mod(b); e > 0n; e >>= 1n, b = mod(b * b)) if (e & 1n) r = mod(r * b)
  return r
}
const inv = (a: bigint) => pow(a, p - 2n)
const d = mod(-121665n * inv(121666n))
/** A square root mod p (p ≡ 5 mod 8), or undefined. */
const sqrt = (a: bigint): bigint | undefined => {
  let r = pow(a, (p + 3n) / 8n)
  if (mod(r * r) !== mod(a)) r = mod(r * pow(2n, (p - 1n) / 4n))
  return mod(r * r) === mod(a) ? r : undefined
}
const encodeY = (y: bigint) => Buffer.from(y.toString(16).padStart(64, '0'), 'hex').reverse().toString('hex')

const SPKI = Buffer.from('302a300506032b6570032100', 'hex')
const IDENTITY = `01${'00'.repeat(31)}`

describe('weak ed25519 keys', () => {
  it("Node's own verify accepts a forged signature under the small-order key 0100…00; Chorus refuses the key", () => {
    const key = createPublicKey({ key: Buffer.concat([SPKI, Buffer.from(IDENTITY, 'hex')]), format: 'der', type: 'spki' })
    const forged = Buffer.concat([Buffer.from(IDENTITY, 'hex'), Buffer.alloc(32)]) // R = identity, S = 0
    expect(verify(null, Buffer.from('any message'), key, forged)).toBe(true)
    expect(new SignatureVerifier().verify(IDENTITY, Buffer.from('any message'), forged.toString('hex'))).toBe(false)
    expect(isNodeId(IDENTITY)).toBe(false)
  })

  it('lists exactly the points of order 8, derived from the curve', () => {
    // 2P has order 4 (y = 0) iff y² = −x²; on the curve that gives d·x⁴ − 2x² − 1 = 0.
    const found: string[] = []
    const disc = sqrt(mod(1n + d))!
    for (const x2 of [mod((1n + disc) * inv(d)), mod((1n - disc) * inv(d))]) {
      const y = sqrt(mod(-x2))
      if (y === undefined || sqrt(x2) === undefined) continue
      for (const yy of [y, mod(-y)]) found.push(encodeY(yy))
    }
    expect(found.sort()).toEqual(['26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'])
    for (const y of found) expect(isWeakPublicKey(y)).toBe(true)
  })

  it('refuses every small-order point with either sign of x, and every non-canonical y ≥ p', () => {
    const small = [0n, 1n, p - 1n].map(encodeY)
    small.push(...['26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'])
    const withSign = (h: string) => `${h.slice(0, 62)}${(Number.parseInt(h.slice(62), 16) | 0x80).toString(16)}`
    for (const h of small) {
      expect(isWeakPublicKey(h)).toBe(true)
      expect(isWeakPublicKey(withSign(h))).toBe(true)
    }
    for (let k = 0n; k < 19n; k++) {
      const h = encodeY(p + k)
      expect(isWeakPublicKey(h)).toBe(true)
      expect(isWeakPublicKey(withSign(h))).toBe(true)
    }
    // The largest canonical y is not refused for being large.
    expect(isWeakPublicKey(encodeY(p - 2n))).toBe(false)
  })

  it('accepts real keys, and a message naming a weak key anywhere fails its schema', () => {
    for (let i = 0; i < 200; i++) expect(isNodeId(generateIdentity().id)).toBe(true)
    const alice = generateIdentity()
    const round = 'ab'.repeat(32)
    const msg = signEnvelope(alice, { type: 'VerdictReveal', round, seq: 0, body: { verdicts: [{ a: IDENTITY, b: alice.id, v: 'A', p: -1 }], salt: 'cd'.repeat(32), usage: { prompt: 0, completion: 0 } } })
    expect(() => checkEnvelope(JSON.parse(msg.wire.toString()))).toThrow(ProtocolError)
    expect(() => checkEnvelope({ ...JSON.parse(msg.wire.toString()), from: IDENTITY })).toThrow(/ed25519 public key/)
  })
})
