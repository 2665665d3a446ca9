import { differenceVariance, fitBradleyTerry, TallyBuilder } from '../src/consensus/bradleyTerry.js'
import { SeededRandom } from '../src/consensus/prng.js'
import { type Figure, median } from './stats.js'

/** Bradley–Terry fit to 1e-8 with intervals and the top-two separation test, on synthetic verdicts. */
function problem(n: number, verdicts: number, seed: string) {
  const rng = new SeededRandom(seed)
  const strength = Array.from({ length: n }, () => (rng.nextU32() / 2 ** 32) * 4 - 2)
  const raw: [number, number, number][] = []
  for (let k = 0; k < verdicts; k++) {
    const i = rng.nextInt(n)
    let j = rng.nextInt(n - 1)
    if (j >= i) j++
    const p = 1 / (1 + Math.exp(strength[j]! - strength[i]!))
    const u = rng.nextU32() / 2 ** 32
    raw.push([i, j, u < 0.05 ? 0 : u < 0.05 + 0.95 * p ? 1 : -1])
  }
  return raw
}

function fitOnce(n: number, raw: [number, number, number][]): number {
  const t0 = performance.now()
  const tb = new TallyBuilder(n)
  for (const [i, j, o] of raw) tb.add(i, j, o as 1 | 0 | -1, 1)
  const tallies = tb.tallies()
  const fit = fitBradleyTerry(n, tallies)
  if (!fit.converged) throw new Error('did not converge')
  let a = 0
  let b = 1
  for (let i = 0; i < n; i++) if (fit.theta[i]! > fit.theta[a]!) a = i
  if (a === b) b = 0
  for (let i = 0; i < n; i++) if (i !== a && fit.theta[i]! > fit.theta[b]!) b = i
  differenceVariance(n, tallies, fit.theta, a, b)
  return performance.now() - t0
}

export async function run(): Promise<Figure[]> {
  const out: Figure[] = []
  for (const [n, v, reps] of [
    [50, 1000, 200],
    [1000, 20000, 30],
  ] as const) {
    const raw = problem(n, v, 'b7'.repeat(16))
    for (let w = 0; w < 5; w++) fitOnce(n, raw)
    const times = Array.from({ length: reps }, () => fitOnce(n, raw))
    out.push({ name: `bt_fit_${n}x${v}_ms`, value: median(times), unit: 'ms' })
  }
  return out
}

export const figures = ['bt_fit_50x1000_ms', 'bt_fit_1000x20000_ms']
