import { resolve } from 'node:path'
import { measurePrefilter } from '../src/eval/prefilterEval.js'
import { loadRecordedTask } from '../src/eval/recordedFile.js'
import type { Figure } from './stats.js'

/**
 * The prefilter's text check (node/tools/genuine.ts) on the recorded replies of ZeroEval's small
 * models ($CHORUS_DATA or ../shared/data): the share of questions where it would remove a right
 * answer, and the shares of right and wrong replies it marks not genuine.
 */
export const figures = ['prefilter_right_removed_pct', 'prefilter_right_flagged_pct', 'prefilter_wrong_flagged_pct', 'prefilter_right_removed_math_l5_pct']

export async function run(): Promise<Figure[]> {
  const dir = resolve(process.env.CHORUS_DATA ?? '../shared/data')
  const g = measurePrefilter(await loadRecordedTask('gsm', dir))
  const m = measurePrefilter(await loadRecordedTask('math-l5', dir))
  const pct = (a: number, b: number) => (100 * a) / b
  return [
    { name: 'prefilter_right_removed_pct', value: pct(g.rightRemoved, g.questions), unit: '%' },
    { name: 'prefilter_right_flagged_pct', value: pct(g.right.flagged, g.right.n), unit: '%' },
    { name: 'prefilter_wrong_flagged_pct', value: pct(g.wrong.flagged, g.wrong.n), unit: '%' },
    { name: 'prefilter_right_removed_math_l5_pct', value: pct(m.rightRemoved, m.questions), unit: '%' },
  ]
}
