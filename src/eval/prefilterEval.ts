import { isRight } from '../consensus/answerTypes.js'
import { notGenuine } from '../protocol/genuine.js'
import { ATTACKS, attackReply } from './attacker.js'
import type { RecordedTask } from './zeroeval.js'

/**
 * The prefilter's text check on real answers: how many right and wrong replies of the recorded
 * models it would mark not genuine, in how many questions it would remove at least one right
 * answer (and every right one), and which attacker dressings and lazy answers it catches.
 */
export interface PrefilterMeasure {
  task: string
  right: { n: number; flagged: number }
  wrong: { n: number; flagged: number }
  questions: number
  /** Questions where at least one right reply would be removed, and where every right one would. */
  rightRemoved: number
  allRightRemoved: number
  /** Attacker dressings and lazy answers the check catches (by name). */
  caught: string[]
  missed: string[]
}

export function measurePrefilter(task: RecordedTask): PrefilterMeasure {
  const right = { n: 0, flagged: 0 }
  const wrong = { n: 0, flagged: 0 }
  let rightRemoved = 0
  let allRightRemoved = 0
  for (const q of task.questions) {
    let rights = 0
    let removed = 0
    for (const r of q.replies) {
      const ok = isRight(r.raw, q.gold, q.spec)
      const flagged = notGenuine(r.raw, q.question) !== undefined
      const c = ok ? right : wrong
      c.n++
      if (flagged) c.flagged++
      if (ok) {
        rights++
        if (flagged) removed++
      }
    }
    if (removed > 0) rightRemoved++
    if (rights > 0 && removed === rights) allRightRemoved++
  }
  const probes: [string, string][] = [
    ...ATTACKS.map((k): [string, string] => [`attacker: ${k}`, attackReply(k, '43')]),
    ['lazy: empty', ''],
    ['lazy: a dot', '.'],
    ['lazy: repeated', 'answer '.repeat(40)],
    ['lazy: random symbols', '꧁⸻ꙮ⸎⸙☙❦✣✤✥✦✧✩✪✫✬✭✮✯✰✱✲✳✴✵✶✷✸✹✺✻✼✽✾✿'],
    ['copier: the question', task.questions[0]?.question ?? 'What?'],
  ]
  const caught = probes.filter(([, text]) => notGenuine(text, task.questions[0]?.question) !== undefined).map(([name]) => name)
  return { task: task.task, right, wrong, questions: task.questions.length, rightRemoved, allRightRemoved, caught, missed: probes.map(([n]) => n).filter((n) => !caught.includes(n)) }
}
