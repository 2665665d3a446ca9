import fc from 'fast-check'
import { toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import { leafHash, MerkleTree, verifyProof } from '../../../src/ledger/evm/merkle.js'

/** The batch trees: every leaf proves against the root, and nothing else does (any size, odd ones too). */
describe('batch Merkle trees', () => {
  it('proves every leaf of a tree of any size, and no leaf that is not in it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 1_000_000 }), (n, salt) => {
        const leaves = Array.from({ length: n }, (_, i) => leafHash(toHex(`${salt}/${i}`)))
        const tree = new MerkleTree(leaves)
        for (let i = 0; i < n; i++) expect(verifyProof(tree.proof(i), tree.root, leaves[i]!)).toBe(true)
        const stranger = leafHash(toHex(`${salt}/stranger`))
        expect(verifyProof(tree.proof(0), tree.root, stranger)).toBe(false)
      }),
      { numRuns: 60 },
    )
  })

  it('has an empty root of zeros, and refuses a proof of a leaf it does not have', () => {
    expect(new MerkleTree([]).root).toBe(`0x${'00'.repeat(32)}`)
    expect(() => new MerkleTree([leafHash('0x01')]).proof(1)).toThrow(RangeError)
  })
})
