import { hash } from 'node:crypto'

/**
 * Hex SHA-256 of bytes or a UTF-8 string. One-shot `crypto.hash` costs half of
 * createHash().update().digest() on the small inputs that dominate (0.7 µs against 1.3 µs).
 */
export function sha256Hex(data: Uint8Array | string): string {
  return hash('sha256', data, 'hex')
}

/**
 * Domain-separated hash of several parts, each length-prefixed so that no two different part lists
 * can share an encoding ("ab"+"c" vs "a"+"bc"). Every protocol hash (round id, commitments, seeds,
 * selection keys) goes through here with its own domain. The parts are laid out in one buffer and
 * hashed in one call.
 */
export function hashParts(domain: string, ...parts: (string | Uint8Array)[]): string {
  const all = [`chorus/v1/${domain}`, ...parts]
  let size = 0
  for (const p of all) size += 4 + (typeof p === 'string' ? Buffer.byteLength(p, 'utf8') : p.length)
  const buf = Buffer.allocUnsafe(size)
  let at = 0
  for (const p of all) {
    let length: number
    if (typeof p === 'string') {
      length = buf.write(p, at + 4, 'utf8')
    } else {
      buf.set(p, at + 4)
      length = p.length
    }
    buf.writeUInt32BE(length, at)
    at += 4 + length
  }
  return hash('sha256', buf, 'hex')
}
