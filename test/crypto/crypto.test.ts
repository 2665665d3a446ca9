import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalJson } from '../../src/crypto/canonical.js'
import { commitment } from '../../src/crypto/commitment.js'
import { hashParts } from '../../src/crypto/hash.js'
import {
  generateIdentity,
  identityFromSeed,
  identitySeed,
  SignatureVerifier,
  signBytes,
} from '../../src/crypto/identity.js'
import { merkleRoot } from '../../src/crypto/merkle.js'

const { json } = fc.letrec((tie) => ({
  json: fc.oneof(
    { depthSize: 'small' },
    fc.integer(),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('json'), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie('json'), { maxKeys: 4 }),
  ),
}))

describe('canonical JSON', () => {
  it('sorts keys, drops whitespace, and gives one encoding per value', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 0, y: -3 } })).toBe(
      '{"a":[true,null,"x"],"b":1,"c":{"y":-3,"z":0}}',
    )
    fc.assert(
      fc.property(json, (v) => {
        const a = canonicalJson(v)
        expect(canonicalJson(JSON.parse(a))).toBe(a)
      }),
      { numRuns: 200 },
    )
  })

  it('writes what a key-sorting encoder writes, whatever order and kinds the input has', () => {
    // The plain recursive encoder: canonicalJson takes a faster path for values already in order.
    const reference = (v: unknown): string => {
      if (typeof v === 'string') return JSON.stringify(v)
      if (typeof v === 'number') return Object.is(v, -0) ? '0' : String(v)
      if (v === null || typeof v === 'boolean') return String(v)
      if (Array.isArray(v)) return `[${v.map(reference).join(',')}]`
      const o = v as Record<string, unknown>
      const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort()
      return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(o[k])}`).join(',')}}`
    }
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.integer(),
        fc.constant(-0),
        fc.string({ unit: 'binary' }),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 4 }),
        // Keys in any order, numeric-looking ones too (objects list those first), some undefined.
        fc.dictionary(fc.oneof(fc.string(), fc.nat(20).map(String)), fc.oneof(tie('value'), fc.constant(undefined)), { maxKeys: 5 }),
      ),
    }))
    fc.assert(
      fc.property(value, (v) => {
        expect(canonicalJson(v)).toBe(reference(v))
      }),
      { numRuns: 500 },
    )
    expect(canonicalJson({ 10: 1, 9: 2, b: 3, a: 4 })).toBe('{"10":1,"9":2,"a":4,"b":3}')
    expect(canonicalJson(Object.assign(Object.create(null), { b: 1, a: 2 }))).toBe('{"a":2,"b":1}')
    expect(() => canonicalJson([1, undefined])).toThrow(/undefined/)
    expect(canonicalJson(new Date(0))).toBe('{}')
  })

  it('refuses floats and other non-JSON values', () => {
    expect(() => canonicalJson({ p: 0.5 })).toThrow(/safe integer/)
    expect(() => canonicalJson(2 ** 60)).toThrow(/safe integer/)
    expect(() => canonicalJson(() => 1)).toThrow()
    expect(canonicalJson(-0)).toBe('0')
  })
})

describe('identities and signatures', () => {
  it('derives the same identity from the same seed and round-trips the seed', () => {
    const seed = Buffer.alloc(32, 7)
    const a = identityFromSeed(seed)
    expect(identityFromSeed(seed).id).toBe(a.id)
    expect(identitySeed(a).equals(seed)).toBe(true)
    expect(a.id).toMatch(/^[0-9a-f]{64}$/)
  })

  it('verifies a signature and rejects any change to message, key or signature', () => {
    const id = generateIdentity()
    const other = generateIdentity()
    const v = new SignatureVerifier()
    const msg = Buffer.from('chorus')
    const sig = signBytes(id, msg)
    expect(v.verify(id.id, msg, sig)).toBe(true)
    expect(v.verify(id.id, Buffer.from('chorvs'), sig)).toBe(false)
    expect(v.verify(other.id, msg, sig)).toBe(false)
    const flipped = (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1)
    expect(v.verify(id.id, msg, flipped)).toBe(false)
    expect(v.verify('not-an-id', msg, sig)).toBe(false)
    expect(v.verify(id.id, msg, 'ab')).toBe(false)
  })
})

describe('hashes, commitments, Merkle roots', () => {
  it('length-prefixes parts so different splits never collide', () => {
    expect(hashParts('d', 'ab', 'c')).not.toBe(hashParts('d', 'a', 'bc'))
    expect(hashParts('d1', 'x')).not.toBe(hashParts('d2', 'x'))
  })

  it('binds a commitment to every input', () => {
    const base = commitment('r', 'n', 'answer', 's')
    expect(commitment('r', 'n', 'answer', 's')).toBe(base)
    for (const c of [
      commitment('R', 'n', 'answer', 's'),
      commitment('r', 'N', 'answer', 's'),
      commitment('r', 'n', 'Answer', 's'),
      commitment('r', 'n', 'answer', 'S'),
    ]) {
      expect(c).not.toBe(base)
    }
  })

  it('changes the root when any leaf is altered, dropped or moved', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 8 }), { minLength: 2, maxLength: 12 }),
        fc.nat(),
        (leaves, k) => {
          const root = merkleRoot(leaves)
          const i = k % leaves.length
          const altered = leaves.map((l, j) => (j === i ? Uint8Array.from([...l, 1]) : l))
          expect(merkleRoot(altered)).not.toBe(root)
          expect(merkleRoot(leaves.filter((_, j) => j !== i))).not.toBe(root)
          const j = (i + 1) % leaves.length
          if (Buffer.compare(leaves[i]!, leaves[j]!) !== 0) {
            const swapped = leaves.slice()
            ;[swapped[i], swapped[j]] = [swapped[j]!, swapped[i]!]
            expect(merkleRoot(swapped)).not.toBe(root)
          }
        },
      ),
    )
  })
})
