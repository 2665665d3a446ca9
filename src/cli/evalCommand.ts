import { writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { SUPPORT_WEIGHT } from '../consensus/aggregate.js'
import { logOddsWeight } from '../consensus/judgeWeights.js'
import { measureLlmbarJudges } from '../eval/llmbar.js'
import type { JudgeModel } from '../eval/modelledJudge.js'
import { replayTask, type ReplayResult } from '../eval/replay.js'
import { loadPrd, measureSelfPreference, replayPrd } from '../eval/prd.js'
import { accuracyChartSvg, type ChartInput } from '../eval/chart.js'
import { injectionChart, prdReport, sweepChart, sweepReport } from '../eval/report.js'
import { isRecordedTask, loadRecordedTask, recordedLines } from '../eval/recordedFile.js'
import { liveEval } from './evalLive.js'
import { ProgressBar } from './progressBar.js'
import { ConfigError } from './modelSpec.js'

/**
 * `chorus eval`: replays recorded answers of real small models (ZeroEval gsm / math-l5) through
 * real rounds with modelled judges, sweeping judge accuracy, and prints a Markdown report.
 */
export const EVAL_HELP = `chorus eval --task gsm|math-l5|zeroeval:<name>|replay|prd|live [options]

  --data <dir>              the evaluation data folder (default $CHORUS_DATA or ../shared/data)
  --task <task>             what to run: gsm or math-l5 replay ZeroEval's recorded answers (10–11
                            real small models, modelled judges); zeroeval:<name> any ZeroEval task
                            folder under <data>/zeroeval/ (result files as ZeroEval writes them);
                            replay the recorded replies of --file; prd replays PRD vicuna80 (5
                            models' answers and recorded peer reviews, scored against human
                            judgements); live runs a benchmark through a swarm of real models
  --file <file.jsonl>       with --task replay: one question per line, {"id", "question", "gold",
                            "answer_type" (number|choice|literal|short|free; inferred from the
                            golds when absent), "marker" (first|last, default last), "replies":
                            [{"model", "text"}, …]}

 replays:
  --judge-accuracy <list>   modelled judges' accuracy on right-vs-wrong pairs (default 0.6,0.7,0.8,0.9)
  --judges <llmbar|llmbar-all>  instead, judges modelled on LLMBar's six recorded LLM judges
                            (accuracy, position bias, no-verdict rate measured on natural pairs, or all)
  --weights <measured|uniform>  with --judges: judge weights from measured accuracy (default) or all 1
  --calibration <share>     with --judges or --task prd: learn judge weights online from this share
                            of questions (calibration items with known answers, or people's verdicts
                            for prd, mixed into the stream, not scored)
  --position-bias <p>       share of verdicts that just pick the first answer (default 0)
  --tie-rate <t>            share of verdicts that are ties (default 0)
  --self-preference <p>     share of verdicts where a judge picks the answer agreeing with its own
                            (default 0; PRD measures 0.13 on average: see --task prd)
  --injection <list>        a modelled prompt-injection attacker joins every round; sweep the judges'
                            susceptibility over this list (e.g. 0,0.1,0.2,0.3,0.5) at one judge
                            accuracy (--judge-accuracy, default 0.7)
  --judge-tools maths       judges that check: each first weighs the maths checker's evidence on the
                            two recorded chains (a wrong stated computation; a final answer that is
                            not what the chain computed), and its modelled verdict decides the rest
  --rules 3|4                run every round by these live rules instead of rules 1 (on a STAND-IN
                            ledger: beacons hashed from the seals, every answerer a full record);
                            4 adds the GOOD/BAD prefilter, judges marking each recorded reply with
                            the text check (real), and counts what it left out
  --seed <s>                seed for the modelled judges (default "chorus")
  --chart <file.svg>        also draw the sweep (or the injection curve) as an SVG chart

 live (--task live):
  --bench <file.jsonl>      questions with gold answers (e.g. <data>/benchmarks/gsm8k-test.jsonl)
  --model <spec>            a model for the nodes, repeat to mix (round-robin): ./model.gguf,
                            ollama:<model>, openai:<base url>#<model>
  --nodes <n>               swarm size (default: one node per --model)
  --config <file>           JSON: {"bench": "...", "models": ["..."], "nodes": 5, "answerSeconds": 300}
  --attacker                add an attacker node (a wrong answer dressed to win; prefers its own)
  --attack <kind>           how it dresses it: injection (instructions to the judges, the default),
                            flattery ("trust me"), unicode (rare symbols, bidi and hidden tag
                            characters), delimiter (closes its block in the judge's prompt)
  --answer-seconds <s>      how long members may take to answer or to judge (default 300)
  --cache <file>            where finished questions are kept (default ./chorus-eval-cache/…);
                            rerun the same command to resume after a crash or Ctrl-C
  --fresh                   discard the cache and start over

 both:
  --limit <n>               only the first n questions
  --out <file>              also write the report there
  --export <file.jsonl>     with a recorded task: write it in the JSON-lines format of --task replay
                            instead of running it (a converter: edit, extend, run with --file)
`

export async function evalCommand(args: string[], out: (s: string) => void = (s) => process.stdout.write(s), signal: AbortSignal = new AbortController().signal): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: 'string' },
      task: { type: 'string' },
      file: { type: 'string' },
      export: { type: 'string' },
      'judge-accuracy': { type: 'string' },
      judges: { type: 'string' },
      weights: { type: 'string' },
      calibration: { type: 'string' },
      'position-bias': { type: 'string' },
      'tie-rate': { type: 'string' },
      'self-preference': { type: 'string' },
      injection: { type: 'string' },
      chart: { type: 'string' },
      bench: { type: 'string' },
      model: { type: 'string', multiple: true },
      nodes: { type: 'string' },
      config: { type: 'string' },
      attacker: { type: 'boolean' },
      attack: { type: 'string' },
      'judge-tools': { type: 'string' },
      rules: { type: 'string' },
      cache: { type: 'string' },
      fresh: { type: 'boolean' },
      'answer-seconds': { type: 'string' },
      limit: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
    },
  })
  const task = values.task
  const limit = values.limit === undefined ? undefined : Number(values.limit)
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new ConfigError('--limit must be a positive whole number')
  if (task === 'live') {
    const { limit: _, ...live } = values
    return liveEval({ ...live, ...(limit === undefined ? {} : { limit }) }, signal, out)
  }
  const dataDir = resolve(values.data ?? process.env.CHORUS_DATA ?? '../shared/data')
  if (task === 'prd') {
    const data = await loadPrd(dataDir).catch((err: Error) => {
      throw new ConfigError(err.message)
    })
    const calibrationShare = values.calibration === undefined ? undefined : Number(values.calibration)
    if (calibrationShare !== undefined && !(calibrationShare > 0 && calibrationShare < 1)) throw new ConfigError('--calibration takes a share in (0, 1)')
    const replay = replayPrd(data, { onProgress: progress('prd'), ...(calibrationShare === undefined ? {} : { calibrationShare }) })
    const report = prdReport(replay, measureSelfPreference(data))
    out(report)
    if (values.out !== undefined) await writeFile(values.out, report)
    return 0
  }
  if (task === undefined || !isRecordedTask(task)) throw new ConfigError('--task must be gsm, math-l5, zeroeval:<name>, replay (with --file), prd or live')
  const shares = (v: string, name: string) => {
    const list = v.split(',').map(Number)
    if (list.some((q) => !(q >= 0 && q <= 1))) throw new ConfigError(`${name} takes numbers in [0, 1], comma-separated`)
    return list
  }
  const susceptibilities = values.injection === undefined ? undefined : shares(values.injection, '--injection')
  const accuracies = shares(values['judge-accuracy'] ?? (susceptibilities ? '0.7' : '0.6,0.7,0.8,0.9'), '--judge-accuracy')
  if (susceptibilities && accuracies.length !== 1) throw new ConfigError('with --injection give one --judge-accuracy')
  const unit = (v: string | undefined, name: string) => {
    const x = Number(v ?? 0)
    if (!(x >= 0 && x < 1)) throw new ConfigError(`${name} must be in [0, 1)`)
    return x
  }
  const judgeTools = values['judge-tools']
  if (judgeTools !== undefined && judgeTools !== 'maths') throw new ConfigError('--judge-tools takes maths (the maths checker)')
  const rulesFlag = values.rules
  if (rulesFlag !== undefined && rulesFlag !== '3' && rulesFlag !== '4') throw new ConfigError('--rules takes 3 or 4 (replays run rules 1 without it)')
  const tools = { ...(judgeTools === undefined ? {} : { judgeTools: 'maths' as const }), ...(rulesFlag === undefined ? {} : { prefilter: rulesFlag === '4' }) }
  const positionBias = unit(values['position-bias'], '--position-bias')
  const tieRate = unit(values['tie-rate'], '--tie-rate')
  const selfPreference = unit(values['self-preference'], '--self-preference')
  const writeChart = async (chart: ChartInput) => {
    if (values.chart !== undefined) await writeFile(values.chart, accuracyChartSvg(chart))
  }
  const recorded = await loadRecordedTask(task, dataDir, values.file).catch((err: Error) => {
    throw new ConfigError(err.message)
  })
  if (values.export !== undefined) {
    await writeFile(values.export, recordedLines(recorded))
    out(`wrote ${recorded.questions.length} questions of ${recorded.task} (${recorded.models.length} models, answer type ${recorded.questions[0]?.spec.type}) to ${values.export}\n`)
    return 0
  }
  const results: ReplayResult[] = []
  if (values.judges !== undefined) {
    if (values.judges !== 'llmbar' && values.judges !== 'llmbar-all') throw new ConfigError('--judges takes llmbar (natural pairs) or llmbar-all (with adversarial pairs)')
    const measured = await measureLlmbarJudges(dataDir, values.judges === 'llmbar' ? 'natural' : 'all').catch((err: Error) => {
      throw new ConfigError(err.message)
    })
    // Weights as the network assigns them once calibration has measured each judge: the log-odds of
    // its accuracy, 0 at or below chance (such a judge drops out, and agreement decides).
    const weighted = values.weights !== 'uniform'
    const calibrationShare = values.calibration === undefined ? undefined : Number(values.calibration)
    if (calibrationShare !== undefined && !(calibrationShare > 0 && calibrationShare < 1)) throw new ConfigError('--calibration takes a share in (0, 1)')
    const runs = [
      ...measured.map((m) => ({ label: m.judge, judge: { ...m.model, selfPreference }, judgeFor: undefined as ((i: number) => JudgeModel) | undefined, weightFor: () => logOddsWeight(m.accuracy) })),
      {
        label: 'mixed',
        judge: measured[0]!.model,
        judgeFor: (i: number) => ({ ...measured[i % measured.length]!.model, selfPreference }),
        weightFor: (i: number) => logOddsWeight(measured[i % measured.length]!.accuracy),
      },
    ]
    for (const run of runs) {
      results.push(
        replayTask(recorded, {
          judge: run.judge,
          ...(run.judgeFor ? { judgeFor: run.judgeFor } : {}),
          ...(calibrationShare !== undefined ? { calibrationShare } : weighted ? { weightFor: run.weightFor } : {}),
          label: run.label,
          ...(limit === undefined ? {} : { limit }),
          seed: values.seed ?? 'chorus',
          onProgress: progress(run.label),
        }),
      )
    }
    const params = measured.map(
      (m) => `${m.judge}: measured accuracy ${(100 * m.accuracy).toFixed(1)} %, picks the first answer ${(100 * m.firstRate).toFixed(1)} % → modelled as q = ${m.model.accuracy.toFixed(3)}, position bias ${m.model.positionBias!.toFixed(3)}, no verdict ${(100 * m.noVerdictRate).toFixed(1)} % (${m.verdicts} verdicts)`,
    )
    const report = sweepReport(`${task}: ${recorded.models.length} recorded models, judges modelled on LLMBar (${values.judges === 'llmbar' ? 'natural pairs' : 'natural and adversarial pairs'})`, results, [
      'Each column: every judge in the swarm behaves like that LLMBar judge (accuracy on right-vs-wrong pairs, position bias, no-verdict rate, all measured from its recorded verdicts in both orders); mixed: node i judges like LLMBar judge i mod 6.',
      ...params,
      calibrationShare !== undefined
        ? `Judge weights: learned online from calibration questions (${calibrationShare * 100}% of the stream, not scored), the log-odds of each judge's running accuracy.`
        : weighted
          ? 'Judge weights: log-odds of each judge\'s measured accuracy (0 at or below chance), as the ledger assigns them after calibration (--weights uniform: all 1).'
          : 'Judge weights: all 1 (--weights uniform).',
      selfPreference > 0
        ? `Still modelled: errors are independent; a judge picks the answer agreeing with its own final answer ${selfPreference * 100}% of the time (--self-preference).`
        : 'Still modelled: errors are independent, and a judge does not prefer answers agreeing with its own (see --self-preference).',
    ])
    out(report)
    if (values.out !== undefined) await writeFile(values.out, report)
    return 0
  }
  const judgeBehaviour =
    `${positionBias > 0 ? `, pick the first answer ${positionBias * 100}% of the time` : ''}${tieRate > 0 ? `, tie ${tieRate * 100}% of the time` : ''}` +
    `${selfPreference > 0 ? `, pick the answer agreeing with their own ${selfPreference * 100}% of the time` : ''}`
  if (susceptibilities) {
    for (const s of susceptibilities) {
      results.push(
        replayTask(recorded, {
          judge: { accuracy: accuracies[0]!, positionBias, tieRate, selfPreference, sameTieRate: 0.5, injectionSusceptibility: s },
          attacker: true,
          ...tools,
          label: `susceptibility ${s}`,
          ...(limit === undefined ? {} : { limit }),
          seed: values.seed ?? 'chorus',
          onProgress: progress(`s = ${s}`),
        }),
      )
    }
    const title = `${task}: a prompt-injection attacker among ${recorded.models.length} recorded models (MODELLED judges, q = ${accuracies[0]}${judgeTools ? ', with the maths checker' : ''})`
    const report = sweepReport(title, results, [
      'MODELLED, not a reproduction of any measured attack: one more node answers every question with a wrong final answer that no model gave, followed by an instruction to the judges to rank it first, and as a judge always prefers its own answer. Whatever it wins, it wins by the injection.',
      `Honest judges obey the injection with the susceptibility in the column header; otherwise they judge with accuracy ${accuracies[0]}${judgeBehaviour}. "attacker's answer chosen": the share of questions on which the method returned the attacker's final answer.`,
      'Methods are scored on the models\' questions as usual; the attacker counts in majority vote like any node, not in best / mean single or oracle.',
    ])
    out(report)
    if (values.out !== undefined) await writeFile(values.out, report)
    await writeChart(injectionChart(title, results))
    return 0
  }
  for (const accuracy of accuracies) {
    results.push(
      replayTask(recorded, {
        judge: { accuracy, positionBias, tieRate, selfPreference, sameTieRate: 0.5 },
        ...tools,
        ...(limit === undefined ? {} : { limit }),
        seed: values.seed ?? 'chorus',
        onProgress: progress(`q = ${accuracy}`),
      }),
    )
  }
  const title = `${task}: ${recorded.models.length} recorded models, swarm vs baselines${judgeTools ? ', judges with the maths checker' : ''}${rulesFlag ? `, rules ${rulesFlag}` : ''}`
  const report = sweepReport(title, results, [
    ...(rulesFlag
      ? [
          `Rounds by rules ${rulesFlag} on a STAND-IN ledger (beacons hashed from the seals; every answerer a full record at an even rank, so each counts once toward its group's support).` +
            (rulesFlag === '4' ? ` GOOD/BAD prefilter: judges marked replies with the text check (real); it left out ${results.map((r) => `${r.prefiltered?.answers ?? 0} replies (${r.prefiltered?.right ?? 0} right) at q = ${r.judge.accuracy}`).join(', ')}.` : ''),
        ]
      : []),
    ...(judgeTools
      ? ['Judges that check: each judge first weighs the maths checker\'s evidence on the two recorded chains (real: a stated computation that is wrong, or a final answer that is not what the chain computed last); only where it does not tell the two apart does the modelled verdict below decide.']
      : []),
    'Answers are the models\' recorded replies (ZeroEval, temperature 0); judges are MODELLED: they know which answer is right and say so with the accuracy in the column header' +
      `${judgeBehaviour}; two right or two wrong answers tie half the time, else a coin flip. Not measured from real judges.`,
    `swarm: the round's aggregation (each final answer's group scores its members' mean Bradley–Terry strength + ${SUPPORT_WEIGHT}·ln(group size)). weighted BT: the strongest single answer. majority vote: the most common final answer.`,
    'best single is the best model on these very questions (chosen after the fact, so optimistic); mean single is the average model.',
  ])
  out(report)
  if (values.out !== undefined) await writeFile(values.out, report)
  await writeChart(sweepChart(title, results))
  return 0
}

/** A progress callback for one replay: a bar on a terminal, cleared when the replay ends. */
function progress(label: string): (done: number, total: number) => void {
  const bar = new ProgressBar(label)
  return (done, total) => (done === total ? bar.finish() : bar.update(done, total))
}
