import { type Aggregation, aggregate } from '../consensus/aggregate.js'
import { type Assignment, assignComparisons, type Judgement, judgementsFor } from '../consensus/assignment.js'
import { replyKey } from '../consensus/answers.js'
import { type AnswerSpec, groupKey } from '../consensus/answerTypes.js'
import { majorityVoteByKey } from '../consensus/baselines.js'
import { excludedByMarks } from '../consensus/prefilter.js'
import { notGenuine } from '../protocol/genuine.js'
import { BP, SCORE_SCALE } from '../protocol/limits.js'
import type { RoundRules } from '../protocol/rulesVersions.js'
import type { ResultBody, Verdict } from '../protocol/messages.js'
import type { LedgerView } from './ledgerView.js'

/**
 * Steps 5–7 of a round as one pure function of sealed inputs, shared by the coordinator (to decide)
 * and by `verifyTranscript` (to check): whoever holds the same sealed messages gets the same result.
 */
export interface RevealedAnswer {
  owner: string
  text: string
  /** Hash of the owner's AnswerCommit envelope: the near-tie breaker. */
  commitHash: string
}

export interface RoundOutcome {
  ranked: boolean
  winner: string
  answer: string
  separated: boolean
  /** Best first: group score, BT strength and its interval (micro-units), and the group's size. */
  scores: { node: string; score: number; theta: number; lo: number; hi: number; support: number }[]
  /** Unsigned diagnostics: the baselines' picks, abstentions. */
  baselines: { majority: string; weightedBt: string; unweighted: string }
  abstentions: number
  verdictCount: number
  /**
   * Rules 4 on: the answers the judges' GOOD/BAD marks left out as not genuine attempts, by owner
   * (sorted); they are not ranked and forfeit their tickets. Empty under older rules.
   */
  excluded: string[]
}

/** Judges: revealers the ledger lets judge, in canonical order. */
export function judgesOf(revealers: readonly string[], ledger: LedgerView): string[] {
  return revealers.filter((id) => ledger.judgeWeight(id) > 0).sort()
}

export function planJudging(
  answers: readonly RevealedAnswer[],
  ledger: LedgerView,
  seed: string,
): Assignment {
  const owners = answers.map((a) => a.owner)
  return assignComparisons(owners, judgesOf(owners, ledger), seed)
}

/** One judge's part of `planJudging`, from the answers' owners alone (what a member needs). */
export function judgingTasks(owners: readonly string[], ledger: LedgerView, seed: string, judge: string): Judgement[] {
  return judgementsFor(owners, judgesOf(owners, ledger), seed, judge)
}

/**
 * How much an answerer counts toward its group's support (rules 2 on): its record, min(1, ranked
 * rounds answered / supportRounds); by rank too (rules 3), times min(1, 2 · answerer reputation).
 */
function supporterWeight(ledger: LedgerView, owner: string, supportRounds: number, byRank: boolean): number {
  const record = Math.min(1, (ledger.answerRounds?.(owner) ?? 0) / supportRounds)
  if (!byRank) return record
  return record * Math.min(1, (2 * (ledger.reputationPpm?.(owner) ?? 0)) / 1_000_000)
}

/**
 * `spec`: the Query's answer type and marker policy; a Query without one (every round signed before
 * answer types) groups by `replyKey`, as it did.
 */
export function computeOutcome(
  answers: readonly RevealedAnswer[],
  verdicts: readonly { judge: string; verdicts: readonly Verdict[] }[],
  ledger: LedgerView,
  rules: RoundRules,
  spec?: AnswerSpec,
  /** The question asked (the prefilter's check reads whether an answer only echoes it). */
  question?: string,
): RoundOutcome {
  if (answers.length === 0) throw new RangeError('no answers to decide between')
  const all = verdicts.flatMap((r) => r.verdicts.map((v) => ({ judge: r.judge, a: v.a, b: v.b, v: v.v, ...(v.g === undefined ? {} : { g: v.g }) })))
  // Judges' marks leave an answer out only where the rules' own text check agrees: marks alone
  // would let judges holding most of the weight that saw a right answer throw it out and take its
  // ticket (colluders in the simulator did, 42 right answers in 100 rounds).
  const textOf = new Map(answers.map((a) => [a.owner, a.text]))
  const excluded =
    rules.prefilter === 1
      ? excludedByMarks(
          answers.map((a) => a.owner),
          all,
          (j) => ledger.judgeWeight(j),
          rules.maxJudgeShareBp / BP,
          (owner) => notGenuine(textOf.get(owner)!, question) !== undefined,
        )
      : []
  // The ranking sees only what the prefilter kept: its answers and the verdicts between them.
  const out = new Set(excluded)
  const kept = out.size === 0 ? answers : answers.filter((a) => !out.has(a.owner))
  const flat = out.size === 0 ? all : all.filter((v) => !out.has(v.a) && !out.has(v.b))
  const judged = flat.filter((v) => v.v !== 'U').length
  if (kept.length < rules.minRanked || judged === 0)
    return { ...unranked(kept, flat.length - judged, flat.length, keyFor(spec)), excluded }
  const supportRounds = rules.supportRounds
  const agg = aggregate({
    answers: kept.map((a) => ({ owner: a.owner, text: a.text, tieBreak: a.commitHash })),
    verdicts: flat,
    judgeWeight: (j) => ledger.judgeWeight(j),
    maxJudgeShare: rules.maxJudgeShareBp / BP,
    supportWeight: rules.supportBp / BP,
    ...(supportRounds === undefined ? {} : { supporterWeight: (owner: string) => supporterWeight(ledger, owner, supportRounds, rules.supportByRank === 1), supportFloor: rules.supportFloor === 1 }),
    bt: { prior: rules.priorMilli / 1_000, z: rules.zMilli / 1_000 },
    groupKey: keyFor(spec),
  })
  return { ...ranked(kept, agg, flat.length), excluded }
}

function ranked(answers: readonly RevealedAnswer[], agg: Aggregation, verdictCount: number): Omit<RoundOutcome, 'excluded'> {
  const w = answers[agg.winner]!
  return {
    ranked: true,
    winner: w.owner,
    answer: w.text,
    separated: agg.separated,
    scores: agg.order.map((i) => ({
      node: answers[i]!.owner,
      score: micro(agg.score[i]!),
      theta: micro(agg.theta[i]!),
      lo: micro(agg.lo[i]!),
      hi: micro(agg.hi[i]!),
      support: agg.support[i]!,
    })),
    baselines: {
      majority: answers[agg.baselines.majorityWinner]!.owner,
      weightedBt: answers[agg.baselines.weightedBtWinner]!.owner,
      unweighted: answers[agg.baselines.unweightedWinner]!.owner,
    },
    abstentions: agg.abstentions,
    verdictCount,
  }
}

/** Too few answers (or no usable verdict) to rank: the plurality answer, commit hash breaking ties. */
function unranked(
  answers: readonly RevealedAnswer[],
  abstentions: number,
  verdictCount: number,
  key: (reply: string) => string,
): Omit<RoundOutcome, 'excluded'> {
  const byHash = [...answers].sort((x, y) => (x.commitHash < y.commitHash ? -1 : 1))
  const w = byHash[majorityVoteByKey(byHash.map((a) => key(a.text))).winner]!
  // The majority baseline breaks ties as in a ranked round (the answers' own order, by node id), so
  // it does not move when judge weights leave a round unranked.
  const majority = answers[majorityVoteByKey(answers.map((a) => key(a.text))).winner]!
  return {
    ranked: false,
    winner: w.owner,
    answer: w.text,
    separated: false,
    scores: [],
    baselines: { majority: majority.owner, weightedBt: w.owner, unweighted: w.owner },
    abstentions,
    verdictCount,
  }
}

function micro(x: number): number {
  // `|| 0` folds -0 into 0: the signed form (JSON) cannot tell them apart, so neither may we.
  return Math.round(x * SCORE_SCALE) || 0
}

/**
 * The members whose answer is the winner's, as the round groups replies (equivalent final answers
 * count as one): the winner and every kept answer that agrees with it, sorted. Settlement spares
 * their tickets under the 'unproven' forfeit rule.
 */
export function winningGroup(answers: readonly RevealedAnswer[], outcome: RoundOutcome, spec?: AnswerSpec): string[] {
  const key = keyFor(spec)
  const out = new Set(outcome.excluded)
  const winning = key(outcome.answer)
  return answers.filter((a) => a.owner === outcome.winner || (!out.has(a.owner) && key(a.text) === winning)).map((a) => a.owner).sort()
}

/** The signed fields of a Result that an outcome determines. */
export function resultFields(
  o: RoundOutcome,
): Pick<ResultBody, 'ranked' | 'winner' | 'separated' | 'scores'> {
  return { ranked: o.ranked, winner: o.winner, separated: o.separated, scores: o.scores }
}

/** How a round groups its replies: by the Query's answer spec, or as rounds did before answer types. */
export function keyFor(spec: AnswerSpec | undefined): (reply: string) => string {
  return spec === undefined ? replyKey : (reply) => groupKey(reply, spec)
}
