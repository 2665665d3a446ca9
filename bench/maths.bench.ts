import { resolve } from 'node:path'
import { measureChecker } from '../src/eval/checkerEval.js'
import { loadRecordedTask } from '../src/eval/recordedFile.js'
import { checkArithmetic } from '../src/node/tools/mathsChecker.js'
import type { Figure } from './stats.js'

/**
 * The maths checker on the recorded reasoning chains of ZeroEval's small models (data from
 * $CHORUS_DATA or ../shared/data): the share of wrong and of right final answers whose chain it
 * flags (a stated computation that is wrong, or a final answer that is not what the chain computed
 * last), and on right-vs-wrong pairs the accuracy of a judge that weighs that evidence first and a
 * modelled q = 0.6 judge decides the rest, beside the q = 0.6 judge alone. Then its cost per reply.
 */
export const figures = [
  'maths_checker_flags_wrong_pct',
  'maths_checker_flags_right_pct',
  'judge_checker_accuracy_pct',
  'judge_plain_accuracy_pct',
  'maths_checker_flags_wrong_math_l5_pct',
  'maths_checker_flags_right_math_l5_pct',
  'judge_checker_accuracy_math_l5_pct',
  'maths_checker_us_per_reply',
]

export async function run(): Promise<Figure[]> {
  const dir = resolve(process.env.CHORUS_DATA ?? '../shared/data')
  const pct = (x: number) => 100 * x
  const gsm = await loadRecordedTask('gsm', dir)
  const g = measureChecker(gsm, 0.6)
  const m = measureChecker(await loadRecordedTask('math-l5', dir), 0.6)
  const replies = gsm.questions.flatMap((q) => q.replies.map((r) => r.raw))
  const t0 = performance.now()
  let found = 0
  for (const r of replies) found += checkArithmetic(r).checked
  const us = ((performance.now() - t0) * 1000) / replies.length
  if (found === 0) throw new Error('the checker found no arithmetic in the gsm replies')
  return [
    { name: 'maths_checker_flags_wrong_pct', value: pct(g.wrong.flagged / g.wrong.n), unit: '%' },
    { name: 'maths_checker_flags_right_pct', value: pct(g.right.flagged / g.right.n), unit: '%' },
    { name: 'judge_checker_accuracy_pct', value: pct(g.assistedAccuracy), unit: '%' },
    { name: 'judge_plain_accuracy_pct', value: pct(g.plainAccuracy), unit: '%' },
    { name: 'maths_checker_flags_wrong_math_l5_pct', value: pct(m.wrong.flagged / m.wrong.n), unit: '%' },
    { name: 'maths_checker_flags_right_math_l5_pct', value: pct(m.right.flagged / m.right.n), unit: '%' },
    { name: 'judge_checker_accuracy_math_l5_pct', value: pct(m.assistedAccuracy), unit: '%' },
    { name: 'maths_checker_us_per_reply', value: us, unit: 'µs' },
  ]
}
