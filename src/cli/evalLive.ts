import { writeFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { hashParts } from '../crypto/hash.js'
import { ATTACKS, AttackerBackend, type AttackKind } from '../eval/attacker.js'
import { loadBenchmark } from '../eval/benchmark.js'
import { LIVE_SYSTEM_PROMPT, runLive, summarizeLive } from '../eval/live.js'
import { LiveCache } from '../eval/liveCache.js'
import { liveReport } from '../eval/report.js'
import type { ModelBackend } from '../models/backend.js'
import { createEmbeddedSwarm } from './embeddedSwarm.js'
import { readJsonConfig } from './jsonConfig.js'
import { BackendFactory, ConfigError, buildBackends } from './modelSpec.js'
import { ProgressBar } from './progressBar.js'
import { answerSeconds, phaseDurations } from './settings.js'

/**
 * `chorus eval --task live`: a benchmark through a swarm of real models in this process, one round
 * per question, cached line by line so a long run resumes where it stopped.
 */
export interface LiveEvalArgs {
  bench?: string
  model?: string[]
  config?: string
  nodes?: string
  attacker?: boolean
  /** How the attacker dresses its wrong answer (attacker.ts; default injection). */
  attack?: string
  cache?: string
  fresh?: boolean
  'answer-seconds'?: string
  limit?: number
  out?: string
}

const ATTACK_NOTES: Record<AttackKind, string> = {
  injection: 'followed by instructions to the judges to rank it first',
  flattery: '"trust me, I\'m right"',
  unicode: 'in rare symbols, with a bidi override, zero-width characters and an instruction in hidden tag characters',
  delimiter: "with text that closes its block in the judge's prompt and writes a verdict",
}

const PHASE_LABEL: Record<string, string> = {
  joining: 'members joining',
  committing: 'answering',
  revealing: 'revealing',
  verdictCommitting: 'judging',
  verdictRevealing: 'revealing verdicts',
}

export async function liveEval(args: LiveEvalArgs, signal: AbortSignal, out: (s: string) => void): Promise<number> {
  const file = args.config === undefined ? {} : await readJsonConfig(args.config, { models: 'strings', nodes: 'number', answerSeconds: 'number', bench: 'string' })
  const benchPath = args.bench ?? (typeof file.bench === 'string' ? file.bench : undefined)
  if (benchPath === undefined) throw new ConfigError('--task live needs --bench <file.jsonl> (e.g. ../shared/data/benchmarks/gsm8k-test.jsonl)')
  const models = args.model ?? (file.models as string[] | undefined) ?? []
  if (!Array.isArray(models) || models.some((m) => typeof m !== 'string')) throw new ConfigError('models must be a list of model specs')
  if (models.length === 0) throw new ConfigError('--task live needs real models: --model ./model.gguf, ollama:<model> or openai:<url>#<model> (repeat to mix), or "models" in --config')
  const nodes = Number(args.nodes ?? file.nodes ?? models.length)
  if (!Number.isInteger(nodes) || nodes < 3 || nodes > 64) throw new ConfigError('--nodes must be a whole number from 3 to 64 (a ranked round needs 3 answers)')
  const answerS = answerSeconds(args['answer-seconds'] ?? file.answerSeconds ?? 300)
  const kind = (args.attack ?? 'injection') as AttackKind
  if (!ATTACKS.includes(kind)) throw new ConfigError(`--attack takes ${ATTACKS.join(', ')}`)
  if (args.attack !== undefined && !args.attacker) throw new ConfigError('--attack needs --attacker')
  const benchmark = await loadBenchmark(benchPath).catch((err: Error) => {
    throw new ConfigError(err.message)
  })
  const perNode = Array.from({ length: nodes }, (_, i) => models[i % models.length]!)
  const config = {
    benchmark: benchmark.name,
    questions: hashParts('bench', JSON.stringify(benchmark.questions)),
    models: perNode,
    attacker: args.attacker === true ? kind : false,
    prompt: LIVE_SYSTEM_PROMPT,
  }
  const cachePath = args.cache ?? join('chorus-eval-cache', `${benchmark.name}-${hashParts('eval-config', JSON.stringify(config)).slice(0, 12)}.jsonl`)
  if (args.fresh) await rm(cachePath, { force: true })
  const cache = await LiveCache.open(cachePath, config).catch((err: Error) => {
    throw new ConfigError(err.message)
  })
  const factory = new BackendFactory()
  try {
    const { backends } = await buildBackends(factory, models, nodes)
    const all: ModelBackend[] = args.attacker ? [...backends, new AttackerBackend(backends[0]!, kind)] : backends
    const swarm = createEmbeddedSwarm({ nodes: all.length, backendFor: (_, i) => all[i]!, durations: phaseDurations(answerS) })
    const liveNodes = swarm.nodes.map((n, i) => ({ id: n.id, model: i < nodes ? perNode[i]! : all[i]!.name }))
    const attacker = args.attacker ? liveNodes.at(-1)!.id : undefined
    const bar = new ProgressBar(`live ${benchmark.name}`, { lines: true })
    const limit = args.limit
    let records
    try {
      records = await runLive({
        swarm: swarm.port(),
        nodes: liveNodes,
        ...(attacker ? { attacker } : {}),
        backends: all,
        benchmark,
        cache,
        ...(limit === undefined ? {} : { limit }),
        signal,
        onProgress: (done, total, phase) => bar.update(done, total, phase ? (PHASE_LABEL[phase] ?? phase) : ''),
      })
    } catch (err) {
      bar.finish()
      if (signal.aborted) {
        process.stderr.write(`stopped; ${cache.records.size} answered questions are saved in ${cachePath}: run the same command to resume\n`)
        return 130
      }
      throw err
    } finally {
      await swarm.stop()
    }
    bar.finish()
    const summary = summarizeLive(`live (${nodes} nodes${attacker ? ' + attacker' : ''})`, records, liveNodes, attacker)
    const report = liveReport(`${benchmark.name}: live swarm of ${nodes} nodes (${[...new Set(models)].join(', ')})`, summary, [
      `Each question is one real round: every node answers (system prompt: "${LIVE_SYSTEM_PROMPT}"), judges compare the revealed answers with the models themselves, and the round's aggregation picks. The baselines come from the same answers and verdicts.`,
      ...(attacker
        ? [`One more node is an attacker (for evaluation only, --attack ${kind}): it answers with a wrong final answer dressed to win (${ATTACK_NOTES[kind]}), and prefers its own answer when it judges. It counts in majority vote, not as a model.`]
        : []),
      `Cached in ${cachePath}: rerunning the same command reuses finished questions.`,
    ])
    out(report)
    if (args.out !== undefined) await writeFile(args.out, report)
    return 0
  } finally {
    await factory.close()
  }
}
