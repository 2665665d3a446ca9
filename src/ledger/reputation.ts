import { logOddsWeight } from '../consensus/judgeWeights.js'
import type { RoundFacts } from './settlement.js'
import { type CalibrationRules, retryWait } from './calibration.js'

/**
 * Reputation in integer fixed-point, so two ledgers replaying the same rounds agree exactly.
 * As answerer: an exponential moving average of the normalised rank (1 000 000 = first, 0 = last),
 * moving a tenth of the way per ranked round. As judge: how often its verdicts agreed with the
 * round's final order (in half-verdicts: a tie counts half), and how many known-answer judgements
 * it got right (calibration.ts), Beta-smoothed (a prior worth 4 judgements at 0.75) into a log-odds
 * weight in micro-units, 0 at or below chance. Agreement alone rewards herding, so on a ledger with
 * calibration rules it counts only a configured share of a graded judgement, and where the gate is
 * on a node weighs nothing until it has passed (and again once it falls below the floor).
 */
export interface Reputation {
  /** EMA of normalised rank, in parts per million. */
  answerPpm: number
  answerRounds: number
  /** Verdicts that agreed with the final order, counted in halves. */
  judgeAgreedHalves: number
  judgeVerdicts: number
  /** Known-answer judgements graded (calibration challenges), and how many were right. */
  calRight: number
  calTotal: number
  /** Passed calibration, and not fallen below the floor since. */
  calibrated: boolean
  /** Challenges failed in a row, and the ledger time before which it may not try again. */
  calFailures: number
  calRetryAt: number
  /** The judge weight this record earns, in micro-units. */
  weightMicro: number
}

const FRESH = { answerPpm: 500_000, answerRounds: 0, judgeAgreedHalves: 0, judgeVerdicts: 0, calRight: 0, calTotal: 0, calibrated: false, calFailures: 0, calRetryAt: 0 }

/** A new account's record under the ledger's calibration rules (none: a ledger from before them). */
export function newReputation(cal: CalibrationRules | undefined): Reputation {
  return withWeight({ ...FRESH, weightMicro: 0 }, cal)
}

const EMA_STEP_PPM = 100_000

/**
 * The weight a judge record earns: log-odds of (right + s·agreed + 3) / (graded + s·verdicts + 4),
 * in micro-units, where s is the agreement share (1 on a ledger from before calibration, whose
 * weights came from agreement alone). 0 where the gate is on and the node is not calibrated.
 */
export function judgeWeightMicro(r: Omit<Reputation, 'weightMicro'>, cal: CalibrationRules | undefined): number {
  if (cal?.required && !r.calibrated) return 0
  const s = cal === undefined ? 1 : cal.agreementSharePpm / 1e6
  return Math.round(1e6 * logOddsWeight((r.calRight + (s * r.judgeAgreedHalves) / 2 + 3) / (r.calTotal + s * r.judgeVerdicts + 4)))
}

/** The record with its weight recomputed; a calibrated judge below the floor must pass again. */
export function withWeight(r: Reputation, cal: CalibrationRules | undefined): Reputation {
  const out = { ...r, weightMicro: judgeWeightMicro(r, cal) }
  if (cal?.required && out.calibrated && out.weightMicro < cal.floorMicro) return { ...out, calibrated: false, weightMicro: 0 }
  return out
}

/** A challenge graded: its judgements count as evidence; passing admits the node, failing makes it wait. */
export function calibrate(r: Reputation, right: number, of: number, at: number, cal: CalibrationRules): Reputation {
  const passed = right >= cal.pass
  const failures = passed ? 0 : r.calFailures + 1
  return withWeight({ ...r, calRight: r.calRight + right, calTotal: r.calTotal + of, calibrated: passed, calFailures: failures, calRetryAt: passed ? 0 : at + retryWait(cal, failures) }, cal)
}

/** Known-answer judgements from a hidden calibration round: evidence, not a pass or a fail. */
export function addEvidence(r: Reputation, right: number, graded: number, cal: CalibrationRules): Reputation {
  return withWeight({ ...r, calRight: r.calRight + right, calTotal: r.calTotal + graded }, cal)
}

/**
 * Every answerer's and judge's record after one ranked round; unranked rounds teach nothing
 * (rules 4: the prefilter's exclusions count only in a round it left ranked).
 */
export function updateReputation(facts: RoundFacts, current: (node: string) => Reputation, cal: CalibrationRules | undefined): Map<string, Reputation> {
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
  // An answer the prefilter left out ranks below every ranked one; it was no attempt, so its
  // record (the rounds that count toward support) does not grow.
  for (const node of o.excluded) {
    const r = get(node)
    r.answerPpm += Math.floor((-r.answerPpm * EMA_STEP_PPM) / 1_000_000)
    out.set(node, r)
  }
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
    out.set(judge, withWeight(r, cal))
  }
  return out
}
