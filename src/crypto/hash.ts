import { createHash } from 'node:crypto'

/** Hex SHA-256 of bytes or a UTF-8 string. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex')
}

/**
 * Domain-separated hash of several parts, each length-prefixed so that no two different part lists
 * can share an encoding ("ab"+"c" vs "a"+"bc"). Every protocol hash (round id, commitments, seeds,
 * selection keys) goes through here with its own domain.
 */
export function hashParts(domain: string, ...parts: (string | Uint8Array)[]): string {
  const h = createHash('sha256')
  const len = Buffer.allocUnsafe(4)
  const add = (p: string | Uint8Array) => {
    const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p
    len.writeUInt32BE(b.length, 0)
    h.update(len)
    h.update(b)
  }
  add(`chorus/v1/${domain}`)
  for (const p of parts) add(p)
  return h.digest('hex')
}
