import { type AnswerSpec, goldKey, groupKey } from '../consensus/answerTypes.js'
import { hashParts } from '../crypto/hash.js'
import { identityFromSeed } from '../crypto/identity.js'
import { JUDGE_SYSTEM, judgeUserPrompt } from '../models/judgePrompt.js'
import { MAX_ANSWER_CHARS } from '../protocol/limits.js'
import { type LedgerView, genesisLedgerView } from '../round/ledgerView.js'
import { injectedReply, perturbAnswer } from './attacker.js'
import type { Estimate, PairedDifference } from './bootstrap.js'
import { CalibrationRecords, isCalibrationItem } from './calibration.js'
import { evidenceFavours, finalNumber, mathsEvidence } from '../node/tools/mathsChecker.js'
import { type JudgeModel, modelledVerdict } from './modelledJudge.js'
import { driveRound } from './roundDriver.js'
import { replayLedger, seasonedView } from './replayLedger.js'
import { MARK_FIRST, MARK_SECOND } from '../consensus/prefilter.js'
import { notGenuine } from '../protocol/genuine.js'
import { PREFILTER_RULES, RULES_VERSIONS } from '../protocol/rulesVersions.js'
import { type AttackedMethod, type Method, type Paired, type RoundPicks, scoreAttack, scoreMethods } from './scoring.js'
import type { RecordedTask } from './zeroeval.js'

/**
 * Replays recorded answers through real rounds: one node per model answers with that model's
 * recorded reply, MODELLED judges compare, and the round's own aggregation picks. Beside it, from
 * the same verdicts and answers: weighted and unweighted Bradley–Terry, majority vote, every single
 * model, and the oracle.
 */

export interface ReplayResult {
  /** Column label in reports. */
  label: string
  judge: JudgeModel
  questions: number
  accuracy: Record<Method, Estimate>
  /** Swarm against majority and best single on the same questions (paired bootstrap). */
  paired: Record<Paired, PairedDifference>
  bestSingleModel: string
  verdictsPerQuestion: number
  /**
   * Estimated tokens per question (characters / 4: the recorded replies were not tokenized): the
   * answers, and the judges' prompts for every verdict.
   */
  tokensPerQuestion: { answers: number; judging: number }
  msPerRound: number
  /** With an attacker: how often each method returned the attacker's (wrong) final answer. */
  attackSuccess?: Record<AttackedMethod, Estimate>
  /** With the prefilter: the answers it left out, the right ones among them, and the questions that lost a right answer to it. */
  prefiltered?: { answers: number; right: number; questionsLosingRight: number }
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
  /**
   * A MODELLED prompt-injection attacker joins every round as one more node: it answers with a wrong
   * final answer that no model gave, followed by INJECTED_TEXT, and as a judge always prefers its
   * own answer. Honest judges obey the injection with their model's `injectionSusceptibility`.
   */
  attacker?: boolean
  /**
   * Judges that check: each judge first weighs the maths checker's evidence on the two chains
   * (node/tools/mathsChecker.ts, real, on the recorded text), and its modelled verdict decides only
   * where the evidence does not tell the answers apart.
   */
  judgeTools?: 'maths'
  /**
   * The GOOD/BAD prefilter: true runs every round by rules 4, its judges marking each answer with
   * the prefilter's text check (protocol/genuine.ts, real, on the recorded text); false runs the
   * same rounds by rules 3, without it. Either way on a stand-in ledger (replayLedger.ts) whose
   * answerers all have a full record. Undefined: rules 1, as every other replay.
   */
  prefilter?: boolean
  limit?: number
  seed?: string
  onProgress?: (done: number, total: number) => void
}

export function replayTask(task: RecordedTask, opts: ReplayOptions): ReplayResult {
  const ids = task.models.map((m) => identityFromSeed(Buffer.from(hashParts('eval-node', m), 'hex')))
  const attackerId = identityFromSeed(Buffer.from(hashParts('eval-attacker'), 'hex'))
  const index = new Map(ids.map((id, i) => [id.id, i]))
  if (opts.attacker) index.set(attackerId.id, ids.length)
  const share = opts.calibrationShare ?? 0
  const learned = new CalibrationRecords(index.size)
  const weightFor = share > 0 ? (i: number) => learned.weight(i) : opts.weightFor
  const plainView: LedgerView = weightFor ? genesisLedgerView((id) => weightFor(index.get(id) ?? -1)) : (opts.ledger ?? genesisLedgerView())
  const ledger = opts.prefilter === undefined ? plainView : seasonedView((id) => plainView.judgeWeight(id))
  const prefiltered = { answers: 0, right: 0, questionsLosingRight: 0 }
  const questions = task.questions.slice(0, opts.limit ?? task.questions.length)
  const hit: RoundPicks = { swarm: [], 'weighted BT': [], 'unweighted BT': [], 'majority vote': [] }
  const single = task.models.map(() => [] as boolean[])
  const attacked: Record<AttackedMethod, boolean[]> = { swarm: [], 'weighted BT': [], 'majority vote': [] }
  let verdicts = 0
  let answerChars = 0
  let judgeChars = 0
  const t0 = performance.now()
  questions.forEach((q, qi) => {
    // One reading of each reply, by the question's answer spec, for the score and (in the round's
    // Query) for the grouping alike: a reply is right exactly when the round groups it with the gold.
    const texts = q.replies.map((r) => r.raw.slice(0, MAX_ANSWER_CHARS) || '(no answer)')
    const gold = goldKey(q.gold, q.spec.type)
    const keys: (string | undefined)[] = q.replies.map((r, i) => (r.answer === undefined ? undefined : groupKey(texts[i]!, q.spec)))
    const right = keys.map((k) => k === gold)
    if (opts.attacker) {
      const reply = injectedReply(attackerAnswer(keys, q.gold, q.spec))
      keys.push(groupKey(reply, q.spec))
      right.push(false)
      texts.push(reply)
    }
    const attacker = ids.length
    const evidence = opts.judgeTools === 'maths' ? texts.map((t) => mathsEvidence(t, finalNumber(t, q.spec))) : undefined
    const judgeOf = (i: number): JudgeModel => (i === attacker ? { accuracy: opts.judge.accuracy, selfPreference: 1 } : (opts.judgeFor?.(i) ?? opts.judge))
    const bad = opts.prefilter ? texts.map((t) => notGenuine(t, q.question) !== undefined) : undefined
    const nodes = [...ids, ...(opts.attacker ? [attackerId] : [])].map((identity, i) => ({
      identity,
      answer: texts[i]!,
      ...(bad ? { marks: (t: { a: string; b: string }) => (bad[index.get(t.a)!] ? MARK_FIRST : 0) | (bad[index.get(t.b)!] ? MARK_SECOND : 0) } : {}),
      judge: (t: { a: string; b: string }) => {
        const [a, b] = [index.get(t.a)!, index.get(t.b)!]
        judgeChars += JUDGE_SYSTEM.length + judgeUserPrompt(q.question, texts[a]!, texts[b]!).length
        const own = keys[i]
        // As a node's maths tool judges (node/tools/nodeTools.ts): only between different final answers.
        const favours = evidence && keys[a] !== keys[b] ? evidenceFavours(evidence[a]!, evidence[b]!) : undefined
        if (favours !== undefined) return favours
        return modelledVerdict(judgeOf(i), `${opts.seed ?? ''}|${q.id}|${identity.id}|${t.a}|${t.b}`, right[a]!, right[b]!, {
          ownFirst: own !== undefined && keys[a] === own,
          ownSecond: own !== undefined && keys[b] === own,
          injectedFirst: a === attacker,
          injectedSecond: b === attacker,
        })
      },
    }))
    const rules = opts.prefilter === undefined ? undefined : RULES_VERSIONS.get(opts.prefilter ? PREFILTER_RULES : PREFILTER_RULES - 1)!.rules
    const { done } = driveRound(nodes, q.question, ledger, qi, { answer: q.spec, ...(rules ? { live: replayLedger(rules) } : {}) })
    if (isCalibrationItem(q.id, share)) {
      // The ledger knows this answer: grade each judge on the pairs where exactly one side is right.
      learned.grade(done.transcript, (id) => index.get(id)!, (a, b) => {
        const [ra, rb] = [right[index.get(a)!]!, right[index.get(b)!]!]
        return ra === rb ? undefined : ra
      })
      opts.onProgress?.(qi + 1, questions.length)
      return
    }
    const o = done.outcome
    const ok = (node: string) => right[index.get(node)!]!
    prefiltered.answers += o.excluded.length
    prefiltered.right += o.excluded.filter(ok).length
    if (o.excluded.some(ok)) prefiltered.questionsLosingRight++
    hit.swarm.push(ok(o.winner))
    hit['weighted BT'].push(ok(o.baselines.weightedBt))
    hit['unweighted BT'].push(ok(o.baselines.unweighted))
    hit['majority vote'].push(ok(o.baselines.majority))
    single.forEach((s, m) => s.push(right[m]!))
    if (opts.attacker) {
      const took = (node: string) => keys[index.get(node)!] === keys[attacker]
      attacked.swarm.push(took(o.winner))
      attacked['weighted BT'].push(took(o.baselines.weightedBt))
      attacked['majority vote'].push(took(o.baselines.majority))
    }
    verdicts += o.verdictCount
    answerChars += texts.reduce((n, t) => n + t.length, 0)
    opts.onProgress?.(qi + 1, questions.length)
  })
  const ms = performance.now() - t0
  const { accuracy, paired, bestSingleModel } = scoreMethods(hit, single, task.models)
  return {
    label: opts.label ?? `judges q = ${opts.judge.accuracy}`,
    judge: opts.judge,
    questions: hit.swarm.length,
    accuracy,
    paired,
    bestSingleModel,
    verdictsPerQuestion: verdicts / Math.max(1, hit.swarm.length),
    tokensPerQuestion: { answers: answerChars / 4 / Math.max(1, hit.swarm.length), judging: judgeChars / 4 / Math.max(1, questions.length) },
    msPerRound: ms / Math.max(1, questions.length),
    ...(opts.attacker
      ? { attackSuccess: scoreAttack(attacked) }
      : {}),
    ...(opts.prefilter ? { prefiltered } : {}),
  }
}

/**
 * The attacker's final answer: wrong, and given by no model, so whatever it wins it wins by the
 * injection alone (an attacker that copies a popular wrong answer also wins by the vote).
 */
function attackerAnswer(keys: readonly (string | undefined)[], goldText: string, spec: AnswerSpec): string {
  let answer = perturbAnswer(goldText)
  while (keys.includes(goldKey(answer, spec.type))) answer = perturbAnswer(answer)
  return answer
}
