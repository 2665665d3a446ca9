import type { PrdMethodScore } from './prd.js'
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

/** The PRD peer-review replay: agreement with the human majority, per method. */
export function prdReport(scores: readonly PrdMethodScore[], questions: number): string {
  const pct = (e: { mean: number; lo: number; hi: number }) => `${(100 * e.mean).toFixed(1)} [${(100 * e.lo).toFixed(1)}, ${(100 * e.hi).toFixed(1)}]`
  return [
    '### PRD vicuna80: real LLM judges, human ground truth',
    '',
    '| method | pairs ordered as people did | top answer = people\'s top |',
    '|---|---|---|',
    ...scores.map((s) => `| ${s.method} | ${pct(s.pairwise)} | ${pct(s.top1)} |`),
    '',
    `${questions} questions, 5 models (bard, claude, gpt35, gpt4, vicuna-13b) answering and judging with their recorded verdicts; % with 95 % bootstrap intervals. ` +
      'swarm: real rounds (with 5 answers every pair is one unit, judged in both orders by one judge who owns neither answer; judge weights all 1). ' +
      'BT, all verdicts: every recorded verdict of every reviewer, its own answer included. <model> alone: that reviewer\'s verdicts only.',
    '',
  ].join('\n')
}
