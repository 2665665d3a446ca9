import { majorityVote } from './baselines.js'
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
  bt?: BTOptions
}

export interface Aggregation {
  theta: number[]
  lo: number[]
  hi: number[]
  /** Answer indices, best first. */
  order: number[]
  winner: number
  /** The winner's lead over the runner-up exceeds z standard errors of their difference. */
  separated: boolean
  abstentions: number
  baselines: { unweightedWinner: number; majorityWinner: number; support: number[] }
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
  const order = rank(fit.theta, answers)
  const theta = Array.from(fit.theta)
  const winner = order[0] ?? -1
  let separated = false
  if (n >= 2) {
    const second = order[1]!
    const variance = differenceVariance(n, tallies, fit.theta, winner, second, input.bt?.prior)
    separated = theta[winner]! - theta[second]! > z * Math.sqrt(Math.max(variance, 0))
  }
  const plain = fitBradleyTerry(n, unweighted.tallies(), input.bt)
  const vote = majorityVote(answers.map((a) => a.text))
  return {
    theta,
    lo: theta.map((t, i) => t - z * fit.se[i]!),
    hi: theta.map((t, i) => t + z * fit.se[i]!),
    order,
    winner,
    separated,
    abstentions,
    baselines: {
      unweightedWinner: rank(plain.theta, answers)[0] ?? -1,
      majorityWinner: vote.winner,
      support: vote.support,
    },
  }
}

/** Indices by descending θ; near-ties by the lower tie-break string. */
function rank(theta: Float64Array, answers: readonly RankedAnswer[]): number[] {
  return answers
    .map((_, i) => i)
    .sort((x, y) => {
      const d = theta[y]! - theta[x]!
      if (Math.abs(d) > NEAR_TIE) return d
      return answers[x]!.tieBreak < answers[y]!.tieBreak
        ? -1
        : answers[x]!.tieBreak > answers[y]!.tieBreak
          ? 1
          : 0
    })
}
