import { goldKey, groupKey } from '../consensus/answerTypes.js'
import type { RecordedTask } from './zeroeval.js'

/**
 * What the swarm is measured against on recorded answers: majority vote over normalized final
 * answers (ties to the group seen first), every single model, and the oracle (any model right).
 */
export interface BaselineScores {
  questions: number
  majority: number
  oracle: number
  bestSingle: { model: string; correct: number }
  meanSingle: number
  perModel: { model: string; correct: number }[]
  unextracted: number
}

export function baselineScores(task: RecordedTask): BaselineScores {
  const perModel = task.models.map((model) => ({ model, correct: 0 }))
  let majority = 0
  let oracle = 0
  let unextracted = 0
  for (const q of task.questions) {
    const gold = goldKey(q.gold, q.spec.type)
    const keys = q.replies.map((r) => (r.answer === undefined ? undefined : groupKey(r.raw, q.spec)))
    keys.forEach((k, m) => {
      if (k === undefined) unextracted++
      else if (k === gold) perModel[m]!.correct++
    })
    if (keys.includes(gold)) oracle++
    const counts = new Map<string, number>()
    let top: string | undefined
    for (const k of keys) {
      if (k === undefined) continue
      const c = (counts.get(k) ?? 0) + 1
      counts.set(k, c)
      if (top === undefined || c > counts.get(top)!) top = k
    }
    if (top === gold) majority++
  }
  const best = perModel.reduce((a, b) => (b.correct > a.correct ? b : a))
  return {
    questions: task.questions.length,
    majority,
    oracle,
    bestSingle: best,
    meanSingle: perModel.reduce((s, p) => s + p.correct, 0) / perModel.length,
    perModel,
    unextracted,
  }
}
