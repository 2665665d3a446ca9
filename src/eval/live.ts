import { type AnswerSpec, finalAnswer, goldKey, groupKey } from '../consensus/answerTypes.js'
import type { RoundResult } from '../gateway/swarm.js'
import type { Swarm } from '../gateway/swarm.js'
import type { ModelBackend } from '../models/backend.js'
import type { PhaseTimes } from '../round/coordinator.js'
import type { Estimate, PairedDifference } from './bootstrap.js'
import type { Benchmark } from './benchmark.js'
import type { LiveCache, LiveRecord } from './liveCache.js'
import { type AttackedMethod, type Method, type Paired, type RoundPicks, scoreAttack, scoreMethods } from './scoring.js'

/**
 * A live evaluation: every benchmark question goes to a real swarm as one round (real backends,
 * real judges, the real protocol), one question at a time so each question's tokens and phase
 * times are its own. Each finished question is written to the cache before the next starts.
 */
export const LIVE_SYSTEM_PROMPT = 'Solve the problem. Reason step by step, then give the final answer in \\boxed{}.'

export interface LiveNode {
  id: string
  /** The model behind the node, as reports name it. */
  model: string
}

export interface LiveRunOptions {
  swarm: Pick<Swarm, 'ask'>
  nodes: readonly LiveNode[]
  /** The node that is an AttackerBackend, if any: not scored as a model. */
  attacker?: string
  /** Every distinct backend, for token counts. */
  backends: readonly ModelBackend[]
  benchmark: Benchmark
  cache: LiveCache
  limit?: number
  signal?: AbortSignal
  onProgress?: (done: number, total: number, phase?: string) => void
}

export interface LiveSummary {
  label: string
  questions: number
  failed: number
  accuracy: Record<Method, Estimate>
  paired: Record<Paired, PairedDifference>
  bestSingleModel: string
  verdictsPerQuestion: number
  /** Measured: what the backends reported, per question. */
  tokensPerQuestion: { prompt: number; completion: number; reportedShare: number }
  /** Median milliseconds per phase, and per whole round. */
  phaseMedians: Record<string, number>
  attackSuccess?: Record<AttackedMethod, Estimate>
}

const PHASES: [string, keyof PhaseTimes, keyof PhaseTimes][] = [
  ['join', 'issued', 'committing'],
  ['answer', 'committing', 'revealing'],
  ['reveal', 'revealing', 'verdictCommitting'],
  ['judge', 'verdictCommitting', 'verdictRevealing'],
  ['verdict reveal', 'verdictRevealing', 'done'],
  ['round', 'issued', 'done'],
]

export async function runLive(opts: LiveRunOptions): Promise<LiveRecord[]> {
  const questions = opts.benchmark.questions.slice(0, opts.limit ?? opts.benchmark.questions.length)
  const index = new Map(opts.nodes.map((n, i) => [n.id, i]))
  const records: LiveRecord[] = []
  let done = 0
  for (const q of questions) {
    const cached = opts.cache.records.get(q.id)
    if (cached) {
      records.push(cached)
      opts.onProgress?.(++done, questions.length)
      continue
    }
    opts.signal?.throwIfAborted()
    const before = usage(opts.backends)
    const gold = goldKey(q.gold, q.spec.type)
    let record: LiveRecord
    try {
      const res = await opts.swarm.ask(
        [
          { role: 'system', content: LIVE_SYSTEM_PROMPT },
          { role: 'user', content: q.question },
        ],
        { answer: q.spec, ...(opts.signal ? { signal: opts.signal } : {}), onPhase: (phase) => opts.onProgress?.(done, questions.length, phase) },
      )
      record = recordOf(q.id, res, index, gold, q.spec, opts.nodes.length)
    } catch (err) {
      if (opts.signal?.aborted) throw err
      const none = opts.nodes.map(() => null)
      record = { id: q.id, failed: (err as Error).message, keys: none, right: none.map(() => false), picks: { swarm: -1, weightedBt: -1, unweighted: -1, majority: -1 }, verdicts: 0, tokens: { prompt: 0, completion: 0, reported: 0, calls: 0 }, phases: {} }
    }
    const after = usage(opts.backends)
    record.tokens = {
      prompt: after.prompt - before.prompt,
      completion: after.completion - before.completion,
      reported: after.reported - before.reported,
      calls: after.calls - before.calls,
    }
    await opts.cache.add(record)
    records.push(record)
    opts.onProgress?.(++done, questions.length)
  }
  return records
}

function recordOf(id: string, res: RoundResult, index: Map<string, number>, gold: string, spec: AnswerSpec, n: number): LiveRecord {
  const keys: (string | null)[] = Array.from({ length: n }, () => null)
  for (const m of res.transcript) {
    if (m.env.type !== 'AnswerReveal') continue
    const i = index.get(m.env.from)
    if (i === undefined) continue
    const reply = (m.env.body as { answer: string }).answer
    keys[i] = finalAnswer(reply, spec) === undefined ? null : groupKey(reply, spec)
  }
  const pick = (node: string) => index.get(node) ?? -1
  const o = res.outcome
  const phases: Record<string, number> = {}
  for (const [name, from, to] of PHASES) {
    const a = res.times[from]
    const b = res.times[to]
    if (a !== undefined && b !== undefined) phases[name] = b - a
  }
  return {
    id,
    roundId: res.roundId,
    keys,
    right: keys.map((k) => k !== null && k === gold),
    picks: { swarm: pick(o.winner), weightedBt: pick(o.baselines.weightedBt), unweighted: pick(o.baselines.unweighted), majority: pick(o.baselines.majority) },
    verdicts: o.verdictCount,
    tokens: { prompt: 0, completion: 0, reported: 0, calls: 0 },
    phases,
  }
}

function usage(backends: readonly ModelBackend[]) {
  const total = { prompt: 0, completion: 0, reported: 0, calls: 0 }
  for (const b of new Set(backends)) {
    const u = b.usage
    if (!u) continue
    total.prompt += u.promptTokens
    total.completion += u.completionTokens
    total.reported += u.reported
    total.calls += u.calls
  }
  return total
}

/** Scores a live run's records; the attacker node, if any, is not a model. */
export function summarizeLive(label: string, records: readonly LiveRecord[], nodes: readonly LiveNode[], attacker?: string): LiveSummary {
  const attackerIndex = attacker === undefined ? -1 : nodes.findIndex((n) => n.id === attacker)
  const scored = nodes.map((_, i) => i).filter((i) => i !== attackerIndex)
  const names = scored.map((i) => nodeLabel(nodes, i))
  const rightOf = (r: LiveRecord, i: number) => i >= 0 && r.right[i] === true
  const picks: RoundPicks = {
    swarm: records.map((r) => rightOf(r, r.picks.swarm)),
    'weighted BT': records.map((r) => rightOf(r, r.picks.weightedBt)),
    'unweighted BT': records.map((r) => rightOf(r, r.picks.unweighted)),
    'majority vote': records.map((r) => rightOf(r, r.picks.majority)),
  }
  const single = scored.map((i) => records.map((r) => r.right[i] === true))
  const { accuracy, paired, bestSingleModel } = scoreMethods(picks, single, names)
  const n = Math.max(1, records.length)
  const sum = (f: (r: LiveRecord) => number) => records.reduce((s, r) => s + f(r), 0)
  const calls = sum((r) => r.tokens.calls)
  const phaseMedians: Record<string, number> = {}
  for (const [name] of PHASES) {
    const xs = records.flatMap((r) => (r.phases[name] === undefined ? [] : [r.phases[name]!])).sort((a, b) => a - b)
    if (xs.length > 0) phaseMedians[name] = xs[Math.floor((xs.length - 1) / 2)]!
  }
  const took = (r: LiveRecord, i: number) => attackerIndex >= 0 && i >= 0 && r.keys[i] !== null && r.keys[i] === r.keys[attackerIndex]
  return {
    label,
    questions: records.length,
    failed: records.filter((r) => r.failed !== undefined).length,
    accuracy,
    paired,
    bestSingleModel,
    verdictsPerQuestion: sum((r) => r.verdicts) / n,
    tokensPerQuestion: { prompt: sum((r) => r.tokens.prompt) / n, completion: sum((r) => r.tokens.completion) / n, reportedShare: calls === 0 ? 0 : sum((r) => r.tokens.reported) / calls },
    phaseMedians,
    ...(attackerIndex >= 0
      ? {
          attackSuccess: scoreAttack({
            swarm: records.map((r) => took(r, r.picks.swarm)),
            'weighted BT': records.map((r) => took(r, r.picks.weightedBt)),
            'majority vote': records.map((r) => took(r, r.picks.majority)),
          }),
        }
      : {}),
  }
}

/** A node's model name, numbered when several nodes run the same model. */
function nodeLabel(nodes: readonly LiveNode[], i: number): string {
  const model = nodes[i]!.model
  const same = nodes.filter((n) => n.model === model)
  return same.length === 1 ? model : `${model} #${same.indexOf(nodes[i]!) + 1}`
}
