/** Small helpers shared by the benchmarks. */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const pos = (s.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo)
}

export const median = (xs: readonly number[]) => quantile(xs, 0.5)

export interface Figure {
  name: string
  value: number
  unit: string
}

export function fmt(f: Figure): string {
  const v = Math.abs(f.value) >= 100 ? f.value.toFixed(1) : f.value.toPrecision(4)
  return `BENCH ${f.name} ${v} ${f.unit}`
}
