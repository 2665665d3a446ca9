import { type Estimate, bootstrapAccuracy, type PairedDifference, pairedDifference } from './bootstrap.js'

/**
 * Per-method accuracy from per-question hits, the same for replays and live runs: the round's
 * picks (swarm and its baselines), every single model, and the oracle.
 */
export const METHODS = ['swarm', 'weighted BT', 'unweighted BT', 'majority vote', 'best single', 'mean single', 'oracle'] as const
export type Method = (typeof METHODS)[number]
/** Methods an attacker can sway, with the share of questions on which each took its answer. */
export const ATTACKED_METHODS = ['swarm', 'weighted BT', 'majority vote'] as const
export type AttackedMethod = (typeof ATTACKED_METHODS)[number]

export type RoundPicks = Record<'swarm' | 'weighted BT' | 'unweighted BT' | 'majority vote', boolean[]>

/** The comparisons every report states as paired differences (same questions), not as two intervals. */
export const PAIRED = ['swarm − majority vote', 'swarm − best single'] as const
export type Paired = (typeof PAIRED)[number]

export interface MethodScores {
  accuracy: Record<Method, Estimate>
  paired: Record<Paired, PairedDifference>
  bestSingleModel: string
}

/**
 * `picks`: per question, whether each of the round's methods picked a right answer. `single[m][q]`:
 * whether model m answered question q right (the oracle: any model did).
 */
export function scoreMethods(picks: RoundPicks, single: readonly (readonly boolean[])[], models: readonly string[]): MethodScores {
  const questions = picks.swarm.length
  const perModel = single.map((s) => s.filter(Boolean).length)
  const best = perModel.indexOf(Math.max(...perModel))
  const oracle = Array.from({ length: questions }, (_, q) => single.some((s) => s[q] === true))
  const hits: Record<Exclude<Method, 'mean single'>, readonly boolean[]> = { ...picks, 'best single': single[best] ?? [], oracle }
  const accuracy = Object.fromEntries(
    (Object.keys(hits) as (keyof typeof hits)[]).map((m) => [m, bootstrapAccuracy(hits[m], 1000, m)]),
  ) as Record<Method, Estimate>
  // Mean single: the average model (each question's share of models right, averaged).
  const mean = single.length === 0 || questions === 0 ? Number.NaN : perModel.reduce((a, b) => a + b, 0) / (single.length * questions)
  accuracy['mean single'] = { mean, lo: mean, hi: mean }
  const paired: Record<Paired, PairedDifference> = {
    'swarm − majority vote': pairedDifference(picks.swarm, picks['majority vote'], 1000, 'swarm-majority'),
    'swarm − best single': pairedDifference(picks.swarm, hits['best single'], 1000, 'swarm-best'),
  }
  return { accuracy, paired, bestSingleModel: models[best] ?? '' }
}

export function scoreAttack(took: Record<AttackedMethod, readonly boolean[]>): Record<AttackedMethod, Estimate> {
  return Object.fromEntries(ATTACKED_METHODS.map((m) => [m, bootstrapAccuracy(took[m], 1000, `attack-${m}`)])) as Record<AttackedMethod, Estimate>
}
