import type { ChartInput } from './chart.js'
import type { PrdReplay, SelfPreference } from './prd.js'
import type { Estimate, PairedDifference } from './bootstrap.js'
import type { LiveSummary } from './live.js'
import type { ReplayResult } from './replay.js'
import { ATTACKED_METHODS, type AttackedMethod, METHODS, type Method, PAIRED, type Paired } from './scoring.js'

const pct = (x: number) => (100 * x).toFixed(1)
const withInterval = (e: { mean: number; lo: number; hi: number }) => `${pct(e.mean)} [${pct(e.lo)}, ${pct(e.hi)}]`

/** One column of a method table: a run's accuracy per method (and an attacker's success). */
export interface MethodColumn {
  label: string
  accuracy: Record<Method, Estimate>
  paired?: Record<Paired, PairedDifference>
  attackSuccess?: Record<AttackedMethod, Estimate>
}

const signedPct = (x: number) => `${x >= 0 ? '+' : '−'}${pct(Math.abs(x))}`
const difference = (d: PairedDifference) => `${signedPct(d.mean)} [${signedPct(d.lo)}, ${signedPct(d.hi)}] (${d.onlyA}/${d.onlyB})`

/** A Markdown table: one row per method, one column per run. */
export function methodTable(columns: readonly MethodColumn[]): string[] {
  const head = `| method | ${columns.map((r) => r.label).join(' | ')} |`
  const rule = `|---|${columns.map(() => '---').join('|')}|`
  const rows = METHODS.map((m) => `| ${m} | ${columns.map((r) => (m === 'mean single' ? pct(r.accuracy[m].mean) : withInterval(r.accuracy[m]))).join(' | ')} |`)
  const pairedRows = columns.some((r) => r.paired) ? PAIRED.map((p) => `| ${p} (paired) | ${columns.map((r) => (r.paired ? difference(r.paired[p]) : '–')).join(' | ')} |`) : []
  const attackRows = columns.some((r) => r.attackSuccess)
    ? ATTACKED_METHODS.map((m) => `| attacker's answer chosen: ${m} | ${columns.map((r) => (r.attackSuccess ? withInterval(r.attackSuccess[m]) : '–')).join(' | ')} |`)
    : []
  return [head, rule, ...rows, ...pairedRows, ...attackRows]
}

/** A Markdown report of a sweep: one table row per method, one column per run. */
export function sweepReport(title: string, results: readonly ReplayResult[], notes: readonly string[]): string {
  const r0 = results[0]
  return [
    `### ${title}`,
    '',
    ...methodTable(results),
    '',
    `Accuracy in % with 95 % bootstrap intervals over ${r0?.questions ?? 0} questions.` +
      (r0
        ? ` Best single model: ${r0.bestSingleModel}. Per question: ${r0.verdictsPerQuestion.toFixed(1)} comparisons; ≈ ${Math.round(r0.tokensPerQuestion.answers)} answer tokens and ≈ ${Math.round(r0.tokensPerQuestion.judging)} judge-prompt tokens (characters / 4); ${r0.msPerRound.toFixed(1)} ms per replayed round.`
        : ''),
    PAIRED_NOTE,
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n')
}

/** What the paired rows say, and how the vote breaks ties (both fixed, so runs compare). */
const PAIRED_NOTE =
  "Paired rows: the swarm's accuracy minus the method's on the same questions, in points, with a 95 % paired bootstrap interval; (a/b) counts the questions only the swarm got right / only the method did (McNemar's discordant pairs). Majority vote breaks a tie between groups toward the one holding the lowest node id, whatever the judge weights."

/** A live run: accuracy per method, measured tokens and phase latency. */
export function liveReport(title: string, s: LiveSummary, notes: readonly string[]): string {
  const tokens =
    s.tokensPerQuestion.reportedShare === 0
      ? 'Tokens: the backends did not report them.'
      : `Tokens per question, as the backends reported them${s.tokensPerQuestion.reportedShare < 1 ? ` (for ${pct(s.tokensPerQuestion.reportedShare)} % of calls)` : ''}: ${Math.round(s.tokensPerQuestion.prompt)} prompt, ${Math.round(s.tokensPerQuestion.completion)} completion.`
  const phases = Object.entries(s.phaseMedians).map(([name, ms]) => `${name} ${ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`}`)
  return [
    `### ${title}`,
    '',
    ...methodTable([s]),
    '',
    `Accuracy in % with 95 % bootstrap intervals over ${s.questions} questions${s.failed > 0 ? ` (${s.failed} rounds failed and count as wrong)` : ''}. Best single model: ${s.bestSingleModel}. ${s.verdictsPerQuestion.toFixed(1)} comparisons per question. ${tokens}`,
    `Phase latency, median: ${phases.join(', ') || 'none recorded'}.`,
    PAIRED_NOTE,
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n')
}

/** Accuracy against judge accuracy; the judge-free methods as reference lines. */
export function sweepChart(title: string, results: readonly ReplayResult[]): ChartInput {
  const r0 = results[0]
  if (!r0) throw new RangeError('nothing to chart')
  return {
    title,
    xLabel: 'modelled judge accuracy on right-vs-wrong pairs',
    yLabel: 'accuracy (%)',
    xs: results.map((r) => r.judge.accuracy),
    series: [
      { label: 'swarm', points: results.map((r) => r.accuracy.swarm) },
      { label: 'weighted BT', points: results.map((r) => r.accuracy['weighted BT']), dashed: true },
    ],
    references: (['majority vote', 'best single', 'oracle'] as const).map((m) => ({ label: m, value: r0.accuracy[m].mean })),
  }
}

/** Accuracy and the attacker's success against the judges' susceptibility to injection. */
export function injectionChart(title: string, results: readonly ReplayResult[]): ChartInput {
  return {
    title,
    xLabel: 'modelled judge susceptibility to prompt injection',
    yLabel: '% of questions',
    xs: results.map((r) => r.judge.injectionSusceptibility ?? 0),
    series: [
      { label: 'swarm: accuracy', points: results.map((r) => r.accuracy.swarm) },
      { label: 'majority: accuracy', points: results.map((r) => r.accuracy['majority vote']), dashed: true },
      { label: 'swarm: attacker wins', points: results.map((r) => r.attackSuccess?.swarm) },
      { label: 'majority: attacker wins', points: results.map((r) => r.attackSuccess?.['majority vote']), dashed: true },
    ],
    references: [],
  }
}

/** The PRD peer-review replay: agreement with the human majority, per method. */
export function prdReport(replay: PrdReplay, selfPreference: readonly SelfPreference[] = []): string {
  const { scores, scored, weights } = replay
  const implied = selfPreference.reduce((s, p) => s + p.implied, 0) / Math.max(1, selfPreference.length)
  return [
    '### PRD vicuna80: real LLM judges, human ground truth',
    '',
    '| method | pairs ordered as people did | top answer = people\'s top |',
    '|---|---|---|',
    ...scores.map((s) => `| ${s.method} | ${withInterval(s.pairwise)} | ${withInterval(s.top1)} |`),
    '',
    `${scored} questions scored, 5 models (bard, claude, gpt35, gpt4, vicuna-13b) answering and judging with their recorded verdicts; % with 95 % bootstrap intervals. ` +
      'swarm: real rounds (with 5 answers every pair is judged in both orders by two judges who own neither answer; ' +
      (weights === undefined
        ? 'judge weights all 1). '
        : `judge weights learned online from calibration questions, where each judge's agreement with people sets its log-odds weight; final weights ${weights.map((w) => `${w.model} ${w.weight.toFixed(2)}`).join(', ')}). `) +
      'BT, all verdicts: every recorded verdict of every reviewer, its own answer included. <model> alone: that reviewer\'s verdicts only.',
    '',
    ...(selfPreference.length > 0
      ? [
          '#### Self-preference, measured',
          '',
          '| reviewer | gives its own answer | the other reviewers give it | implied self-preference | comparisons |',
          '|---|---|---|---|---|',
          ...selfPreference.map((p) => `| ${p.model} | ${pct(p.bySelf)} % | ${pct(p.byOthers)} % | ${p.implied.toFixed(3)} | ${p.comparisons} |`),
          '',
          `Share of comparisons (both orders, ties half) won by the reviewer's own answer, when it judges and when the other reviewers do. The implied self-preference p solves p + (1 − p)·others = self; mean ${implied.toFixed(3)}. Rounds never show a judge its own answer; \`chorus eval --self-preference\` models the same pull toward answers that agree with the judge's own.`,
          '',
        ]
      : []),
  ].join('\n')
}
