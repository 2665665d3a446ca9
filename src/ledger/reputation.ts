import { logOddsWeight } from '../consensus/judgeWeights.js'
import type { RoundFacts } from './settlement.js'

/**
 * Reputation in integer fixed-point, so two ledgers replaying the same rounds agree exactly.
 * As answerer: an exponential moving average of the normalised rank (1 000 000 = first, 0 = last),
 * moving a tenth of the way per ranked round. As judge: how often its verdicts agreed with the
 * round's final order (in half-verdicts: a tie counts half), Beta-smoothed (a prior worth 4 verdicts
 * at 0.75) into a log-odds weight in micro-units, 0 at or below chance. Agreement alone rewards
 * herding; calibration items (next) will grade judges on known answers and take over.
 */
export interface Reputation {
  /** EMA of normalised rank, in parts per million. */
  answerPpm: number
  answerRounds: number
  /** Verdicts that agreed with the final order, counted in halves. */
  judgeAgreedHalves: number
  judgeVerdicts: number
  /** The judge weight this record earns, in micro-units. */
  weightMicro: number
}

export const NEW_REPUTATION: Reputation = { answerPpm: 500_000, answerRounds: 0, judgeAgreedHalves: 0, judgeVerdicts: 0, weightMicro: judgeWeightMicro(0, 0) }

const EMA_STEP_PPM = 100_000

/** The weight a judge record earns: log-odds of (agreed + 3) / (verdicts + 4), in micro-units. */
export function judgeWeightMicro(agreedHalves: number, verdicts: number): number {
  return Math.round(1e6 * logOddsWeight((agreedHalves / 2 + 3) / (verdicts + 4)))
}

/** Every answerer's and judge's record after one ranked round; unranked rounds teach nothing. */
export function updateReputation(facts: RoundFacts, current: (node: string) => Reputation): Map<string, Reputation> {
  const o = facts.outcome
  const out = new Map<string, Reputation>()
  if (!o.ranked || o.scores.length < 2) return out
  const get = (node: string) => out.get(node) ?? { ...current(node) }
  const n = o.scores.length
  const position = new Map(o.scores.map((s, i) => [s.node, i]))
  o.scores.forEach((s, i) => {
    const r = get(s.node)
    const x = Math.floor(((n - 1 - i) * 1_000_000) / (n - 1))
    // Integer EMA: floor division of an exact integer product, the same everywhere.
    r.answerPpm += Math.floor(((x - r.answerPpm) * EMA_STEP_PPM) / 1_000_000)
    r.answerRounds++
    out.set(s.node, r)
  })
  for (const { judge, verdicts } of facts.verdicts) {
    const r = get(judge)
    for (const v of verdicts) {
      if (v.v === 'U') continue
      const a = position.get(v.a)
      const b = position.get(v.b)
      if (a === undefined || b === undefined || a === b) continue
      r.judgeVerdicts++
      r.judgeAgreedHalves += v.v === 'T' ? 1 : (v.v === 'A') === a < b ? 2 : 0
    }
    r.weightMicro = judgeWeightMicro(r.judgeAgreedHalves, r.judgeVerdicts)
    out.set(judge, r)
  }
  return out
}
