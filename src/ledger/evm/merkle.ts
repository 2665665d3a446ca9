import { concat, type Hex, keccak256 } from 'viem'

/**
 * The Merkle trees of a batch, built exactly as contracts/ChorusMerkle.sol checks them: a leaf is
 * keccak(keccak(encoding)), an inner node the keccak of its two children in ascending order (so a
 * proof is just the siblings, no positions), and a level of odd length carries its last node up.
 */
export function leafHash(encoded: Hex): Hex {
  return keccak256(keccak256(encoded))
}

export function pairHash(a: Hex, b: Hex): Hex {
  return BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]))
}

const ZERO: Hex = `0x${'00'.repeat(32)}`

export class MerkleTree {
  /** levels[0] are the leaves, the last level the root alone. */
  private readonly levels: Hex[][]

  constructor(readonly leaves: readonly Hex[]) {
    this.levels = [[...leaves]]
    for (let level = this.levels[0]!; level.length > 1; ) {
      const up: Hex[] = []
      for (let i = 0; i < level.length; i += 2) up.push(i + 1 < level.length ? pairHash(level[i]!, level[i + 1]!) : level[i]!)
      this.levels.push(up)
      level = up
    }
  }

  get root(): Hex {
    return this.leaves.length === 0 ? ZERO : this.levels[this.levels.length - 1]![0]!
  }

  /** The siblings from leaf `index` up to the root. */
  proof(index: number): Hex[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.leaves.length) throw new RangeError(`no leaf ${index} among ${this.leaves.length}`)
    const out: Hex[] = []
    let i = index
    for (const level of this.levels.slice(0, -1)) {
      const sibling = i % 2 === 0 ? i + 1 : i - 1
      if (sibling < level.length) out.push(level[sibling]!)
      i = Math.floor(i / 2)
    }
    return out
  }
}

export function verifyProof(proof: readonly Hex[], root: Hex, leaf: Hex): boolean {
  return proof.reduce((h, sibling) => pairHash(h, sibling), leaf) === root
}
