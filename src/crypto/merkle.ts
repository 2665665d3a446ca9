import { createHash, hash } from 'node:crypto'

const LEAF = Buffer.from([0])
const NODE_TAG = 1

/**
 * SHA-256 Merkle root over leaves in order. Leaves and inner nodes are domain-separated (0x00 / 0x01)
 * so an inner node can never pass for a leaf; an odd node is promoted unchanged.
 */
export function merkleRoot(leaves: readonly Uint8Array[]): string {
  if (leaves.length === 0) return createHash('sha256').update(LEAF).digest('hex')
  let level: Buffer[] = leaves.map((l) => createHash('sha256').update(LEAF).update(l).digest())
  // An inner node hashes 0x01‖left‖right, laid out in one scratch buffer and hashed in one call.
  const pair = Buffer.alloc(65)
  pair[0] = NODE_TAG
  while (level.length > 1) {
    const next: Buffer[] = []
    for (let i = 0; i < level.length; i += 2) {
      const right = level[i + 1]
      if (right === undefined) {
        next.push(level[i]!)
        continue
      }
      pair.set(level[i]!, 1)
      pair.set(right, 33)
      next.push(hash('sha256', pair, 'buffer'))
    }
    level = next
  }
  return level[0]!.toString('hex')
}
