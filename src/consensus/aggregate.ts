import { replyKey } from './answers.js'
import { majorityVoteByKey } from './baselines.js'
import { type BTOptions, differenceVariance, fitBradleyTerry, TallyBuilder } from './bradleyTerry.js'
import { capShares } from './judgeWeights.js'

/**
 * The round's aggregation: weighted Bradley–Terry over the judges' verdicts, weights capped so that
 * no judge dominates, with the unweighted fit and majority vote beside it as baselines.
 */
export interface RankedAnswer {
  owner: string
  text: string
  /** Breaks near-ties (|Δθ| ≤ 1e-9): the lower value wins. The round uses the commit hash. */
  tieBreak: string
}

export interface JudgedPair {
  judge: string
  a: string
  b: string
  v: 'A' | 'B' | 'T' | 'U'
}

export interface AggregationInput {
  answers: readonly RankedAnswer[]
  verdicts: readonly JudgedPair[]
  /** Raw weight per judge (from reputation); 0 silences a judge. */
  judgeWeight: (judge: string) => number
  /** Largest share of the round's total weight any one judge may hold. */
  maxJudgeShare: number
  /** How much a group's size counts (default SUPPORT_WEIGHT). */
  supportWeight?: number
  /**
   * How much each answer's owner counts toward its group's support, in [0, 1]; given, a group adds
   * supportWeight · ln(1 + Σ) instead of supportWeight · ln(size), so answerers without a record
   * add nothing however many they are.
   */
  supporterWeight?: (owner: string) => number
  /**
   * With `supporterWeight`: a group adds supportWeight · ln(max(1, Σ)) instead of ln(1 + Σ), so a
   * lone answer gains nothing over none, as with ln(size) (rules 4 on).
   */
  supportFloor?: boolean
  /** The key replies are grouped by (answerTypes.ts); default `replyKey`, the grouping before answer types. */
  groupKey?: (reply: string) => string
  bt?: BTOptions
}

export interface Aggregation {
  theta: number[]
  lo: number[]
  hi: number[]
  /** Each answer's group score (mean θ of its final-answer group + SUPPORT_WEIGHT · ln size). */
  score: number[]
  /** How many answers share each answer's final answer. */
  support: number[]
  /** Answer indices, best first. */
  order: number[]
  winner: number
  /** The winner's lead over the runner-up exceeds z standard errors of their difference. */
  separated: boolean
  abstentions: number
  baselines: { weightedBtWinner: number; unweightedWinner: number; majorityWinner: number; support: number[] }
}

const NEAR_TIE = 1e-9

export function aggregate(input: AggregationInput): Aggregation {
  const { answers, verdicts } = input
  const n = answers.length
  const index = new Map(answers.map((a, i) => [a.owner, i]))
  const judges = [...new Set(verdicts.map((v) => v.judge))].sort()
  const capped = capShares(
    judges.map((j) => input.judgeWeight(j)),
    input.maxJudgeShare,
  )
  const weight = new Map(judges.map((j, k) => [j, capped[k]!]))
  const weighted = new TallyBuilder(n)
  const unweighted = new TallyBuilder(n)
  let abstentions = 0
  for (const v of verdicts) {
    if (v.v === 'U') {
      abstentions++
      continue
    }
    const i = index.get(v.a)
    const j = index.get(v.b)
    if (i === undefined || j === undefined) throw new RangeError(`verdict on an unknown answer`)
    const outcome = v.v === 'A' ? 1 : v.v === 'B' ? -1 : 0
    weighted.add(i, j, outcome, weight.get(v.judge)!)
    unweighted.add(i, j, outcome, 1)
  }
  const z = input.bt?.z ?? 1.96
  const tallies = weighted.tallies()
  const fit = fitBradleyTerry(n, tallies, input.bt)
  const theta = Array.from(fit.theta)
  // Agreement is evidence too: answers with the same final answer form a group, and a group scores
  // its members' mean strength plus SUPPORT_WEIGHT · ln(members). Weak judges leave the strengths
  // near zero and the vote decides; strong judges separate the strengths and overrule the vote.
  const keyOf = answers.map((a) => (input.groupKey ?? replyKey)(a.text))
  const vote = majorityVoteByKey(keyOf)
  const members = new Map<string, number[]>()
  keyOf.forEach((k, i) => {
    const g = members.get(k)
    if (g === undefined) members.set(k, [i])
    else g.push(i)
  })
  const groupScore = new Map<string, number>()
  const supportWeight = input.supportWeight ?? SUPPORT_WEIGHT
  const supporter = input.supporterWeight
  const counted = (g: number[]) => g.reduce((s, i) => s + Math.min(1, Math.max(0, supporter!(answers[i]!.owner))), 0)
  const supportOf = (g: number[]) => (supporter === undefined ? Math.log(g.length) : input.supportFloor ? Math.log(Math.max(1, counted(g))) : Math.log(1 + counted(g)))
  for (const [k, g] of members) groupScore.set(k, g.reduce((s, i) => s + theta[i]!, 0) / g.length + supportWeight * supportOf(g))
  const score = keyOf.map((k) => groupScore.get(k)!)
  const support = keyOf.map((k) => members.get(k)!.length)
  const order = rank(score, theta, answers)
  const winner = order[0] ?? -1
  // Separation: the winner against the strongest answer of any other group (unanimity separates).
  let separated = n >= 1
  const rival = order.find((i) => keyOf[i] !== keyOf[winner])
  if (rival !== undefined) {
    const variance = differenceVariance(n, tallies, fit.theta, winner, rival, input.bt?.prior)
    separated = score[winner]! - score[rival]! > z * Math.sqrt(Math.max(variance, 0))
  }
  const plain = fitBradleyTerry(n, unweighted.tallies(), input.bt)
  const zeros = new Array<number>(n).fill(0)
  return {
    theta,
    lo: theta.map((t, i) => t - z * fit.se[i]!),
    hi: theta.map((t, i) => t + z * fit.se[i]!),
    score,
    support,
    order,
    winner,
    separated,
    abstentions,
    baselines: {
      weightedBtWinner: rank(theta, zeros, answers)[0] ?? -1,
      unweightedWinner: rank(Array.from(plain.theta), zeros, answers)[0] ?? -1,
      majorityWinner: vote.winner,
      support: vote.support,
    },
  }
}

/** How much a group's size counts against its members' judged strength (tuned on replay: see README). */
export const SUPPORT_WEIGHT = 0.5

/** Indices by descending score, then θ; near-ties by the lower tie-break string. */
function rank(score: readonly number[], theta: readonly number[], answers: readonly RankedAnswer[]): number[] {
  return answers
    .map((_, i) => i)
    .sort((x, y) => {
      const d = score[y]! - score[x]!
      if (Math.abs(d) > NEAR_TIE) return d
      const t = theta[y]! - theta[x]!
      if (Math.abs(t) > NEAR_TIE) return t
      return answers[x]!.tieBreak < answers[y]!.tieBreak ? -1 : answers[x]!.tieBreak > answers[y]!.tieBreak ? 1 : 0
    })
}
