import { createHash } from 'node:crypto'

const LEAF = Buffer.from([0])
const NODE = Buffer.from([1])

/**
 * SHA-256 Merkle root over leaves in order. Leaves and inner nodes are domain-separated (0x00 / 0x01)
 * so an inner node can never pass for a leaf; an odd node is promoted unchanged.
 */
export function merkleRoot(leaves: readonly Uint8Array[]): string {
  if (leaves.length === 0) return createHash('sha256').update(LEAF).digest('hex')
  let level: Buffer[] = leaves.map((l) => createHash('sha256').update(LEAF).update(l).digest())
  while (level.length > 1) {
    const next: Buffer[] = []
    for (let i = 0; i < level.length; i += 2) {
      const right = level[i + 1]
      next.push(
        right === undefined
          ? level[i]!
          : createHash('sha256').update(NODE).update(level[i]!).update(right).digest(),
      )
    }
    level = next
  }
  return level[0]!.toString('hex')
}
