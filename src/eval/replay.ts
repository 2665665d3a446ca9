import { answerKey } from '../consensus/answers.js'
import { logOddsWeight } from '../consensus/judgeWeights.js'
import { hashParts } from '../crypto/hash.js'
import { identityFromSeed } from '../crypto/identity.js'
import { MAX_ANSWER_CHARS } from '../protocol/limits.js'
import { GENESIS_HEAD, type LedgerView, genesisLedgerView } from '../round/ledgerView.js'
import { type Estimate, bootstrapAccuracy } from './bootstrap.js'
import { type JudgeModel, modelledVerdict } from './modelledJudge.js'
import { driveRound } from './roundDriver.js'
import type { RecordedTask } from './zeroeval.js'

/**
 * Replays recorded answers through real rounds: one node per model answers with that model's
 * recorded reply, MODELLED judges compare, and the round's own aggregation picks. Beside it, from
 * the same verdicts and answers: weighted and unweighted Bradley–Terry, majority vote, every single
 * model, and the oracle.
 */
export const METHODS = ['swarm', 'weighted BT', 'unweighted BT', 'majority vote', 'best single', 'mean single', 'oracle'] as const
export type Method = (typeof METHODS)[number]

export interface ReplayResult {
  /** Column label in reports. */
  label: string
  judge: JudgeModel
  questions: number
  accuracy: Record<Method, Estimate>
  bestSingleModel: string
  verdictsPerQuestion: number
  msPerRound: number
}

export interface ReplayOptions {
  judge: JudgeModel
  /** A judge model per node (by model index), overriding `judge` (mixed swarms). */
  judgeFor?: (node: number) => JudgeModel
  label?: string
  /** The ledger the rounds read judge weights from (default: genesis, every judge weight 1). */
  ledger?: LedgerView
  /** Judge weight per node (by model index), as a ledger would hold it; overrides `ledger`. */
  weightFor?: (node: number) => number
  /**
   * Learn judge weights online instead, as the network does: this share of questions are
   * calibration items whose answers the ledger knows. After each, every judge's accuracy estimate
   * (a Beta prior worth 4 verdicts at 0.75) updates from its verdicts on right-vs-wrong pairs, and
   * later rounds weigh judges by the log-odds of the estimate. Calibration questions are not scored.
   */
  calibrationShare?: number
  limit?: number
  seed?: string
  onProgress?: (done: number, total: number) => void
}

export function replayTask(task: RecordedTask, opts: ReplayOptions): ReplayResult {
  const ids = task.models.map((m) => identityFromSeed(Buffer.from(hashParts('eval-node', m), 'hex')))
  const index = new Map(ids.map((id, i) => [id.id, i]))
  const learned = task.models.map(() => ({ right: 0, total: 0 }))
  const calibrating = opts.calibrationShare !== undefined && opts.calibrationShare > 0
  const weightFor = calibrating ? (i: number) => logOddsWeight((learned[i]!.right + 3) / (learned[i]!.total + 4)) : opts.weightFor
  const isCalibration = (id: string) => calibrating && Number.parseInt(hashParts('calibration', id).slice(0, 8), 16) / 2 ** 32 < opts.calibrationShare!
  const ledger: LedgerView = weightFor
    ? { head: () => GENESIS_HEAD, eligible: () => true, judgeWeight: (id) => weightFor(index.get(id) ?? -1) }
    : (opts.ledger ?? genesisLedgerView())
  const questions = task.questions.slice(0, opts.limit ?? task.questions.length)
  const hit: Record<Method, boolean[]> = Object.fromEntries(METHODS.map((m) => [m, []])) as unknown as Record<Method, boolean[]>
  const single = task.models.map(() => [] as boolean[])
  let verdicts = 0
  const t0 = performance.now()
  questions.forEach((q, qi) => {
    const gold = answerKey(q.gold)
    const right = q.replies.map((r) => r.answer !== undefined && answerKey(r.answer) === gold)
    const nodes = ids.map((identity, i) => ({
      identity,
      answer: q.replies[i]!.raw.slice(0, MAX_ANSWER_CHARS) || '(no answer)',
      judge: (t: { a: string; b: string }) =>
        modelledVerdict(opts.judgeFor?.(i) ?? opts.judge, `${opts.seed ?? ''}|${q.id}|${identity.id}|${t.a}|${t.b}`, right[index.get(t.a)!]!, right[index.get(t.b)!]!),
    }))
    const { done } = driveRound(nodes, q.question, ledger, qi)
    if (isCalibration(q.id)) {
      // The ledger knows this answer: grade each judge on the pairs where exactly one side is right.
      for (const m of done.transcript) {
        if (m.env.type !== 'VerdictReveal') continue
        const judge = index.get(m.env.from)!
        for (const v of (m.env.body as { verdicts: { a: string; b: string; v: string }[] }).verdicts) {
          const ra = right[index.get(v.a)!]!
          const rb = right[index.get(v.b)!]!
          if (ra === rb || v.v === 'U') continue
          learned[judge]!.total++
          learned[judge]!.right += v.v === 'T' ? 0.5 : (v.v === 'A') === ra ? 1 : 0
        }
      }
      opts.onProgress?.(qi + 1, questions.length)
      return
    }
    const o = done.outcome
    const ok = (node: string) => right[index.get(node)!]!
    hit.swarm.push(ok(o.winner))
    hit['weighted BT'].push(ok(o.baselines.weightedBt))
    hit['unweighted BT'].push(ok(o.baselines.unweighted))
    hit['majority vote'].push(ok(o.baselines.majority))
    hit.oracle.push(right.some(Boolean))
    right.forEach((r, m) => single[m]!.push(r))
    verdicts += o.verdictCount
    opts.onProgress?.(qi + 1, questions.length)
  })
  const ms = performance.now() - t0
  const perModel = single.map((s) => s.filter(Boolean).length)
  const best = perModel.indexOf(Math.max(...perModel))
  hit['best single'] = single[best]!
  // Mean single: each question's share of models right, averaged (bootstrapped as a fraction).
  const meanSingle = single[0]!.map((_, qi) => single.reduce((s, m) => s + (m[qi] ? 1 : 0), 0) / single.length)
  const accuracy = Object.fromEntries(METHODS.map((m) => [m, bootstrapAccuracy(hit[m], 1000, `${m}`)])) as Record<Method, Estimate>
  const mean = meanSingle.reduce((a, b) => a + b, 0) / Math.max(1, meanSingle.length)
  accuracy['mean single'] = { mean, lo: mean, hi: mean }
  return {
    label: opts.label ?? `judges q = ${opts.judge.accuracy}`,
    judge: opts.judge,
    questions: hit.swarm.length,
    accuracy,
    bestSingleModel: task.models[best]!,
    verdictsPerQuestion: verdicts / Math.max(1, questions.length),
    msPerRound: ms / Math.max(1, questions.length),
  }
}
