import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SeededRandom } from '../../src/consensus/prng.js'
import { hashParts } from '../../src/crypto/hash.js'

describe('SeededRandom', () => {
  it('nextInt is exactly the rejection-sampled x mod n of the u32 stream, for any bound up to 2³²', () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(fc.integer({ min: 1, max: 2 ** 32 }), { minLength: 1, maxLength: 50 }), (k, bounds) => {
        const seed = hashParts('prng', String(k))
        const rng = new SeededRandom(seed)
        const twin = new SeededRandom(seed)
        for (const n of bounds) {
          // The reference in exact integer arithmetic.
          const N = BigInt(n)
          const limit = 2n ** 32n - (2n ** 32n % N)
          let x = BigInt(twin.nextU32())
          while (x >= limit) x = BigInt(twin.nextU32())
          expect(rng.nextInt(n)).toBe(Number(x % N))
        }
      }),
    )
  })

  it('is the same stream for the same seed, and a permutation when shuffling', () => {
    const seed = hashParts('prng', 'x')
    const items = Array.from({ length: 100 }, (_, i) => i)
    const a = new SeededRandom(seed).shuffled(items)
    expect(new SeededRandom(seed).shuffled(items)).toEqual(a)
    expect([...a].sort((x, y) => x - y)).toEqual(items)
    expect(a).not.toEqual(items)
  })
})
