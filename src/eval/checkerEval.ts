import { isRight } from '../consensus/answerTypes.js'
import { evidenceFavours, finalNumber, mathsEvidence } from '../node/tools/mathsChecker.js'
import { modelledVerdict } from './modelledJudge.js'
import type { RecordedTask } from './zeroeval.js'

/**
 * The maths checker measured on recorded reasoning chains of real models: how often it flags the
 * chains behind wrong final answers and behind right ones (a wrong stated computation, or a final
 * answer that is not what the chain computed last), and the accuracy on right-vs-wrong pairs of a
 * judge that uses its evidence first and a modelled judge of accuracy q only where the evidence is
 * silent — beside that modelled judge alone. The checker's part is real; the fallback is modelled.
 */
export interface CheckerMeasure {
  task: string
  replies: number
  right: FlagCounts
  wrong: FlagCounts
  pairs: number
  /** Share of right-vs-wrong pairs each judge gets right (a tie counts half). */
  plainAccuracy: number
  assistedAccuracy: number
  /** Share of pairs the evidence decided, and of those how many it decided rightly. */
  decided: number
  decidedRight: number
}

export interface FlagCounts {
  n: number
  /** A stated computation is wrong. */
  wrongClaim: number
  /** The final answer is not what the chain computed last (chain clean). */
  unfollowed: number
  /** Either. */
  flagged: number
}

/** Pairs per question at most, so a question with ten models does not weigh a hundred times one with two. */
const PAIRS_PER_QUESTION = 12

export function measureChecker(task: RecordedTask, q: number): CheckerMeasure {
  const counts = () => ({ n: 0, wrongClaim: 0, unfollowed: 0, flagged: 0 })
  const right = counts()
  const wrong = counts()
  let pairs = 0
  let plain = 0
  let assisted = 0
  let decided = 0
  let decidedRight = 0
  const score = (v: 'A' | 'B' | 'T') => (v === 'A' ? 1 : v === 'T' ? 0.5 : 0)
  for (const question of task.questions) {
    const judged = question.replies.map((r) => {
      const ok = isRight(r.raw, question.gold, question.spec)
      const evidence = mathsEvidence(r.raw, finalNumber(r.raw, question.spec))
      const c = ok ? right : wrong
      c.n++
      if (evidence.failed > 0) c.wrongClaim++
      else if (evidence.follows === 0) c.unfollowed++
      if (evidence.failed > 0 || evidence.follows === 0) c.flagged++
      return { ok, evidence, model: r.model }
    })
    const goods = judged.filter((j) => j.ok)
    const bads = judged.filter((j) => !j.ok)
    let taken = 0
    for (const g of goods) {
      for (const b of bads) {
        if (taken++ >= PAIRS_PER_QUESTION) break
        // The right answer first: the modelled judge has no position bias here, and the evidence has none.
        const seed = `${question.id}|${g.model}|${b.model}`
        const modelled = modelledVerdict({ accuracy: q }, seed, true, false)
        const favours = evidenceFavours(g.evidence, b.evidence)
        pairs++
        plain += score(modelled)
        assisted += score(favours ?? modelled)
        if (favours !== undefined) {
          decided++
          if (favours === 'A') decidedRight++
        }
      }
    }
  }
  return { task: task.task, replies: right.n + wrong.n, right, wrong, pairs, plainAccuracy: plain / pairs, assistedAccuracy: assisted / pairs, decided, decidedRight }
}
