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
