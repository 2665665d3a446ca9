import { measureDefences } from '../src/eval/hostileText.js'
import type { Figure } from './stats.js'

/**
 * The hostile-text defences on the judging prompt (eval/hostileText.ts): per attacker dressing,
 * the hidden characters and forged prompt lines that reach a judge with the answer pasted raw and
 * with the defences (judge view, quoting). Counts, not timings: what the defences take away.
 */
export const figures = ['hostile_hidden_chars_raw', 'hostile_hidden_chars_defended', 'hostile_forged_lines_raw', 'hostile_forged_lines_defended']

export async function run(): Promise<Figure[]> {
  const m = measureDefences()
  const sum = (f: (x: (typeof m)[number]) => number) => m.reduce((n, x) => n + f(x), 0)
  for (const x of m) process.stderr.write(`hostile ${x.attack}: hidden ${x.hidden.raw} → ${x.hidden.defended}, forged lines ${x.forgedLines.raw} → ${x.forgedLines.defended}, folded ${x.folded}\n`)
  return [
    { name: 'hostile_hidden_chars_raw', value: sum((x) => x.hidden.raw), unit: 'chars' },
    { name: 'hostile_hidden_chars_defended', value: sum((x) => x.hidden.defended), unit: 'chars' },
    { name: 'hostile_forged_lines_raw', value: sum((x) => x.forgedLines.raw), unit: 'lines' },
    { name: 'hostile_forged_lines_defended', value: sum((x) => x.forgedLines.defended), unit: 'lines' },
  ]
}
