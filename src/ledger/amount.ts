/**
 * Money is integer micro-units, as bigint: never a float, so a split conserves to the last unit and
 * two ledgers replaying the same log agree exactly. Amounts travel as decimal strings.
 */
export type Micro = bigint

export const MICRO_PER_UNIT = 1_000_000n

/** A non-negative amount from its decimal string (signed bodies carry amounts as strings). */
export function parseAmount(s: string): Micro {
  if (!/^(0|[1-9][0-9]{0,29})$/.test(s)) throw new RangeError(`not an amount in micro-units: ${JSON.stringify(s)}`)
  return BigInt(s)
}

/** "12.5" (units, up to six decimals) → micro-units; for people typing amounts on the command line. */
export function parseUnits(s: string): Micro {
  const m = /^(0|[1-9][0-9]{0,23})(?:\.([0-9]{1,6}))?$/.exec(s)
  if (m === null) throw new RangeError(`not an amount: ${JSON.stringify(s)} (units, up to 6 decimals)`)
  return BigInt(m[1]!) * MICRO_PER_UNIT + BigInt((m[2] ?? '').padEnd(6, '0'))
}

/** micro-units → "12.5" units, exact. */
export function formatUnits(x: Micro): string {
  const sign = x < 0n ? '-' : ''
  const a = x < 0n ? -x : x
  const frac = (a % MICRO_PER_UNIT).toString().padStart(6, '0').replace(/0+$/, '')
  return `${sign}${a / MICRO_PER_UNIT}${frac ? `.${frac}` : ''}`
}

/**
 * Splits `total` in proportion to `weights` (non-negative, not all zero): each share is the floor of
 * its exact proportion, and the units left over go one each to the largest remainders (ties to the
 * lower index). The shares sum to `total` exactly.
 */
export function splitLargestRemainder(total: Micro, weights: readonly bigint[]): Micro[] {
  if (total < 0n) throw new RangeError('cannot split a negative amount')
  const sum = weights.reduce((a, w) => {
    if (w < 0n) throw new RangeError('negative weight')
    return a + w
  }, 0n)
  if (sum === 0n) throw new RangeError('no weight to split by')
  const shares = weights.map((w) => (total * w) / sum)
  let left = total - shares.reduce((a, s) => a + s, 0n)
  const order = weights.map((w, i) => ({ i, rem: (total * w) % sum })).sort((x, y) => (x.rem === y.rem ? x.i - y.i : x.rem > y.rem ? -1 : 1))
  for (let k = 0; left > 0n; k++, left--) shares[order[k]!.i]! += 1n
  return shares
}
