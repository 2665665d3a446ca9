import { parsePopulation } from '../src/sim/population.js'
import { runSimulation } from '../src/sim/simulation.js'
import type { Figure } from './stats.js'

/**
 * The simulator at scale (issue 16): real signatures, beacons, ticket locks and settlements on an
 * in-memory SQLite ledger, for a population of 10 000 (with Sybils and colluders among them) over
 * 100 rounds of 35 members; and one round of 1 000 members on its own (its setup not counted).
 */
export const figures = ['sim_10000x100_s', 'sim_round_1000_s'] as const

export async function run(): Promise<Figure[]> {
  const big = parsePopulation({
    members: 35,
    correlation: 0.5,
    groups: [
      { behaviour: 'honest', count: 9_000, skill: 0.7, judgeAccuracy: 0.8 },
      { behaviour: 'sybil', count: 500, skill: 0.2, judgeAccuracy: 0.5 },
      { behaviour: 'colluder', count: 500, skill: 0.5, judgeAccuracy: 0.8 },
    ],
  })
  const t0 = performance.now()
  const r = runSimulation({ population: big, rounds: 100, seed: 'bench' })
  const total = (performance.now() - t0) / 1000
  if (r.rounds.length !== 100) throw new Error('the simulation did not run every round')
  const wide = parsePopulation({ members: 1_000, correlation: 0.5, groups: [{ behaviour: 'honest', count: 1_000, skill: 0.7, judgeAccuracy: 0.8 }] })
  const one = runSimulation({ population: wide, rounds: 1, seed: 'bench' })
  return [
    { name: 'sim_10000x100_s', value: total, unit: 's' },
    { name: 'sim_round_1000_s', value: one.timing.roundsMs / 1000, unit: 's' },
  ]
}
