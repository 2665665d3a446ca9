import { SeededRandom } from '../consensus/prng.js'
import { hashParts } from '../crypto/hash.js'

/** Accuracy with a 95 % percentile-bootstrap interval over questions (seeded: reports reproduce). */
export interface Estimate {
  mean: number
  lo: number
  hi: number
}

export function bootstrapAccuracy(correct: readonly boolean[], resamples = 1000, seed = 'bootstrap'): Estimate {
  const n = correct.length
  if (n === 0) return { mean: Number.NaN, lo: Number.NaN, hi: Number.NaN }
  const hits = correct.reduce((s, c) => s + (c ? 1 : 0), 0)
  const rng = new SeededRandom(hashParts('bootstrap', seed))
  const means = new Float64Array(resamples)
  for (let r = 0; r < resamples; r++) {
    let h = 0
    for (let i = 0; i < n; i++) if (correct[rng.nextInt(n)]) h++
    means[r] = h / n
  }
  means.sort()
  return { mean: hits / n, lo: means[Math.floor(0.025 * (resamples - 1))]!, hi: means[Math.ceil(0.975 * (resamples - 1))]! }
}

/**
 * The difference between two methods on the same questions, `a − b`, with a 95 % paired bootstrap
 * interval (the questions are resampled together, so what both got right or both got wrong does not
 * widen it), and the discordant counts McNemar's test reads: questions only `a` got right, only `b`.
 */
export interface PairedDifference extends Estimate {
  onlyA: number
  onlyB: number
}

export function pairedDifference(a: readonly boolean[], b: readonly boolean[], resamples = 1000, seed = 'paired'): PairedDifference {
  const n = Math.min(a.length, b.length)
  const d = Array.from({ length: n }, (_, i) => (a[i] ? 1 : 0) - (b[i] ? 1 : 0))
  const onlyA = d.filter((x) => x > 0).length
  const onlyB = d.filter((x) => x < 0).length
  if (n === 0) return { mean: Number.NaN, lo: Number.NaN, hi: Number.NaN, onlyA, onlyB }
  const rng = new SeededRandom(hashParts('paired', seed))
  const means = new Float64Array(resamples)
  for (let r = 0; r < resamples; r++) {
    let s = 0
    for (let i = 0; i < n; i++) s += d[rng.nextInt(n)]!
    means[r] = s / n
  }
  means.sort()
  return { mean: (onlyA - onlyB) / n, lo: means[Math.floor(0.025 * (resamples - 1))]!, hi: means[Math.ceil(0.975 * (resamples - 1))]!, onlyA, onlyB }
}
