import { METHODS, type ReplayResult } from './replay.js'

/** A Markdown report of a judge-accuracy sweep: one table row per method, one column per accuracy. */
export function sweepReport(title: string, results: readonly ReplayResult[], notes: readonly string[]): string {
  const pct = (x: number) => (100 * x).toFixed(1)
  const head = `| method | ${results.map((r) => r.label).join(' | ')} |`
  const rule = `|---|${results.map(() => '---').join('|')}|`
  const rows = METHODS.map(
    (m) => `| ${m} | ${results.map((r) => (m === 'mean single' ? pct(r.accuracy[m].mean) : `${pct(r.accuracy[m].mean)} [${pct(r.accuracy[m].lo)}, ${pct(r.accuracy[m].hi)}]`)).join(' | ')} |`,
  )
  const r0 = results[0]
  return [
    `### ${title}`,
    '',
    head,
    rule,
    ...rows,
    '',
    `Accuracy in % with 95 % bootstrap intervals over ${r0?.questions ?? 0} questions. ${r0 ? `Best single model: ${r0.bestSingleModel}. ${r0.verdictsPerQuestion.toFixed(1)} verdicts per question; ${r0.msPerRound.toFixed(1)} ms per replayed round.` : ''}`,
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n')
}
