/**
 * Ed25519 public keys that prove nothing. A key of small order (one of the eight torsion points)
 * verifies forged signatures: with R the identity point and S = 0, Node 20's verify accepts the
 * key `0100…00` for every message, and the other torsion points for a share of messages. A
 * non-canonical encoding (y ≥ p) names the same point as a canonical one, so one key would have
 * two ids. Both are refused wherever a node id is parsed.
 *
 * The small-order points, by their y coordinate with the sign bit of x cleared (as libsodium lists
 * them): y = 0 and y = p (order 4), y = 1 and y = p + 1 (order 1), y = p − 1 (order 2), and the two
 * points of order 8. test/crypto/weakKeys.test.ts derives the order-8 ones from the curve.
 */
const SMALL_ORDER_Y = new Set([
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
])
/** The first byte of each listed encoding: anything else is decided without building a string. */
const FIRST_BYTES = new Set(['00', '01', '26', 'c7', 'ec', 'ed', 'ee'])
const ALL_F = 'f'.repeat(58)

/** `hex` is 64 lowercase hex characters (the caller checked). */
export function isWeakPublicKey(hex: string): boolean {
  return isNonCanonical(hex) || (FIRST_BYTES.has(hex.slice(0, 2)) && SMALL_ORDER_Y.has(withoutSignBit(hex)))
}

/** y ≥ p = 2²⁵⁵ − 19 in little-endian: first byte ≥ 0xed, then 0xff…ff, then 0x7f or 0xff. */
function isNonCanonical(hex: string): boolean {
  if (hex.charCodeAt(0) !== 0x66 /* f */ && !(hex[0] === 'e' && hex[1]! >= 'd')) return false
  return hex.slice(2, 60) === ALL_F && (hex.endsWith('7f') || hex.endsWith('ff'))
}

function withoutSignBit(hex: string): string {
  const last = Number.parseInt(hex.slice(62), 16) & 0x7f
  return `${hex.slice(0, 62)}${last.toString(16).padStart(2, '0')}`
}
