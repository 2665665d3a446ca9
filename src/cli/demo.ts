import { parseArgs } from 'node:util'
import type { RoundResult } from '../gateway/swarm.js'
import type { Envelope } from '../protocol/envelope.js'
import { formatUnits } from '../ledger/amount.js'
import type { SettlementReceipt } from '../ledger/ledger.js'
import { genesisLedgerView, type LedgerView } from '../round/ledgerView.js'
import { transcriptFile } from '../round/transcript.js'
import type { BeaconPhase } from '../round/beacons.js'
import { verifyTranscript } from '../round/verify.js'
import { createEmbeddedSwarm } from './embeddedSwarm.js'
import { readJsonConfig } from './jsonConfig.js'
import { MIN_MEMBERS } from '../protocol/limits.js'
import { BackendFactory, ConfigError, TINY_WARNING, buildBackends } from './modelSpec.js'
import { answerSeconds, nodeCount, phaseDurations } from './settings.js'
import { swarmLedger, WORKSPACE_LEDGER } from './workspaceLedger.js'
import { calibrateSwarm, calibrationRequired, gateNote, workspaceRules } from './calibrationGate.js'
import { PREFILTER_OFF_NOTE, prefilterOn } from './prefilterFlag.js'

/**
 * `chorus demo`: a coordinator and N nodes in one process over the in-memory transport, one round,
 * printed. Models come from --model flags, a config file, or ./models/*.gguf; with none it runs on
 * tiny generated models and says plainly that their answers mean nothing.
 */
export const DEMO_HELP = `chorus demo [question] [options]

  Runs a whole swarm in this process and asks it one question.

  --nodes <n>         number of nodes (default 5; from 3, the smallest round, to 64)
  --model <spec>      a model for the nodes; repeat to mix (assigned round-robin):
                        ./model.gguf                 a local GGUF file, run in-process
                        ollama:<model>               Ollama on 127.0.0.1:11434
                        openai:<base url>#<model>    any OpenAI-compatible server (OPENAI_API_KEY)
  --config <file>     JSON: {"nodes": 5, "models": ["..."], "question": "...", "answerSeconds": 120}
  --answer-seconds <s> how long members may take to answer or judge (default 120)
  --ledger-dir <dir>  where the ledger lives (default: here, ${WORKSPACE_LEDGER}); the swarm's keys,
                      stakes, reputation and balances carry over from one run to the next
  --no-ledger         run without a ledger (nobody is paid, every judge weighs the same)
  --calibration on|off  whether a new ledger makes each node pass a calibration challenge (20
                      known-answer pairs, 17 right) before it judges (default: on; off on the tiny
                      generated models, which judge at random)
  --prefilter on|off  whether judges mark answers that are no genuine attempt (empty, symbol soup,
                      a token repeated, the question echoed), which rounds then leave out and whose
                      tickets they take (default: on; off on the tiny generated models)
  --json              print the transcript and outcome as JSON instead
`

const DEFAULT_QUESTION = 'A bat and a ball cost $1.10 in total. The bat costs $1.00 more than the ball. How much does the ball cost?'

interface DemoConfig {
  nodes: number
  models: string[]
  question: string
  answerSeconds: number
  json: boolean
  /** Where the workspace ledger lives; undefined: no ledger. */
  ledgerDir: string | undefined
  /** --calibration as given (resolved once the models are known). */
  calibration: string | undefined
  /** --prefilter as given (prefilterFlag.ts). */
  prefilter: string | undefined
}

async function readConfig(args: string[]): Promise<DemoConfig> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      nodes: { type: 'string' },
      model: { type: 'string', multiple: true },
      config: { type: 'string' },
      'answer-seconds': { type: 'string' },
      json: { type: 'boolean', default: false },
      'ledger-dir': { type: 'string' },
      'no-ledger': { type: 'boolean', default: false },
      calibration: { type: 'string' },
      prefilter: { type: 'string' },
    },
  })
  const file = values.config === undefined ? {} : await readJsonConfig(values.config, { nodes: 'number', models: 'strings', question: 'string', answerSeconds: 'number' })
  const nodes = nodeCount(values.nodes ?? file.nodes, 5, 64, MIN_MEMBERS)
  const answerS = answerSeconds(values['answer-seconds'] ?? file.answerSeconds)
  const models = values.model ?? (file.models as string[] | undefined) ?? []
  if (!Array.isArray(models) || models.some((m) => typeof m !== 'string')) throw new ConfigError('models must be a list of model specs')
  const question = positionals.join(' ') || (typeof file.question === 'string' ? file.question : DEFAULT_QUESTION)
  if (values['no-ledger'] && values['ledger-dir'] !== undefined) throw new ConfigError('--ledger-dir and --no-ledger contradict each other')
  return { nodes, models, question, answerSeconds: answerS, json: values.json ?? false, ledgerDir: values['no-ledger'] ? undefined : (values['ledger-dir'] ?? process.cwd()), calibration: values.calibration, prefilter: values.prefilter }
}

export async function demo(args: string[], out: (s: string) => void = (s) => process.stdout.write(s), signal?: AbortSignal): Promise<number> {
  const cfg = await readConfig(args)
  const factory = new BackendFactory()
  try {
    const { backends, tiny } = await buildBackends(factory, cfg.models, cfg.nodes)
    if (tiny && !cfg.json) out(`${TINY_WARNING}\n\n`)
    const gate = calibrationRequired(cfg.calibration, tiny)
    const prefilter = prefilterOn(cfg.prefilter, tiny)
    const ledger = cfg.ledgerDir === undefined ? undefined : await swarmLedger(cfg.ledgerDir, cfg.nodes, { rules: workspaceRules(gate) })
    try {
      if (ledger && !cfg.json) out(`${gateNote(ledger, gate, tiny)}\n`)
      if (ledger && !cfg.json && !prefilter && tiny) out(`${PREFILTER_OFF_NOTE}\n`)
      if (ledger) await calibrateSwarm(ledger, backends, (line) => (cfg.json ? undefined : out(`${line}\n`)), signal)
      const swarm = createEmbeddedSwarm({
        nodes: cfg.nodes,
        backendFor: (_, i) => backends[i]!,
        durations: phaseDurations(cfg.answerSeconds),
        prefilter,
        ...(ledger ? { ledger: ledger.network, paymaster: ledger.paymaster, client: ledger.client, identities: ledger.identities } : {}),
      })
      const t0 = performance.now()
      let res: RoundResult
      let receipt: SettlementReceipt | undefined
      try {
        res = await swarm.ask(cfg.question, {}, { ...(signal ? { signal } : {}), onPhase: (phase) => progress(`${PHASE_LABEL[phase] ?? phase} (${Math.round(performance.now() - t0)} ms)`) })
        progress('')
        receipt = await res.settlement
      } finally {
        await swarm.stop()
      }
      const wall = performance.now() - t0
      const names = new Map(swarm.nodes.map((n, i) => [n.id, backends[i]!.name]))
      if (cfg.json) {
        const view: LedgerView = ledger?.workspace.ledger.viewAt((res.transcript[0]!.env.body as { ledgerHead: string }).ledgerHead) ?? genesisLedgerView()
        const beacons = ledger === undefined ? {} : { beacons: (round: string, phase: BeaconPhase) => ledger.workspace.ledger.beaconOf(round, phase) }
        const verified = verifyTranscript(res.transcript.map((m) => m.env), { ledger: view, ...beacons })
        out(
          `${JSON.stringify(
            {
              tinyModels: tiny,
              question: cfg.question,
              wallMs: Math.round(wall),
              times: res.times,
              nodes: Object.fromEntries(names),
              outcome: res.outcome,
              usage: res.usage,
              verified: verified.root === res.result.env.body.root,
              ...(receipt ? { settlement: { seq: receipt.seq, pool: receipt.pool.toString(), charged: receipt.charged.toString(), rewards: amounts(receipt.rewards), forfeits: amounts(receipt.forfeits) } } : {}),
              transcript: transcriptFile(res.transcript),
            },
            null,
            2,
          )}\n`,
        )
      } else {
        out(report(cfg.question, res, names, wall))
        if (ledger) out(settlementReport(receipt, ledger.workspace.path))
        if (tiny) out(`\n${TINY_WARNING}\n`)
      }
      return 0
    } finally {
      ledger?.close()
    }
  } finally {
    await factory.close()
  }
}

const short = (id: string) => id.slice(0, 8)
const amounts = (m: Record<string, bigint>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.toString()]))

function settlementReport(r: SettlementReceipt | undefined, path: string): string {
  if (r === undefined) return `\nThe ledger (${path}) did not settle this round.\n`
  const lines = ['', `Settled in ${path} as entry ${r.seq}: pool ${formatUnits(r.pool)} (fee + ${formatUnits(r.charged)} charged for tokens, less the gateway's cut, + forfeits)`]
  for (const [node, x] of Object.entries(r.rewards).sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0))) lines.push(`  ${short(node)}  +${formatUnits(x)}`)
  for (const [node, x] of Object.entries(r.forfeits)) lines.push(`  ${short(node)}  forfeited ${formatUnits(x)} of its stake`)
  lines.push(`  (rewards are paid to each node's operator account: chorus ledger show <id>; chorus ledger verify replays the ledger)`)
  return `${lines.join('\n')}\n`
}

const PHASE_LABEL: Record<string, string> = {
  selecting: "joins sealed; the ledger's beacon picks the members",
  committing: 'members are answering',
  revealing: 'answers committed; revealing',
  assigning: "answers revealed; the ledger's beacon assigns the judges",
  verdictCommitting: 'judges are comparing answers',
  verdictRevealing: 'verdicts committed; revealing',
  done: 'done',
}

/** One status line on stderr, rewritten in place on a terminal; nothing when stderr is a file. */
function progress(text: string): void {
  if (!process.stderr.isTTY) return
  process.stderr.write(`\r\x1b[K${text ? `… ${text}` : ''}`)
}
/** One line, no control characters (model output is untrusted), at most `n` characters. */
export function clean(text: string, n = 72): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this removes
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim()
  return flat.length > n ? `${flat.slice(0, n - 1)}…` : flat
}

function report(question: string, res: RoundResult, names: Map<string, string>, wall: number): string {
  const o = res.outcome
  const envs = res.transcript.map((m) => m.env) as Envelope[]
  const answers = new Map(envs.filter((e) => e.type === 'AnswerReveal').map((e) => [e.from, (e as Envelope<'AnswerReveal'>).body.answer]))
  const lines: string[] = [`Question: ${clean(question, 200)}`, '', `Round ${res.roundId}`, '', 'Members and answers:']
  for (const [id, text] of answers) lines.push(`  ${short(id)}  ${clean(names.get(id) ?? '?', 24).padEnd(24)}  ${clean(text)}`)
  const verdicts = envs.filter((e) => e.type === 'VerdictReveal') as Envelope<'VerdictReveal'>[]
  if (verdicts.length > 0) {
    lines.push('', 'Verdicts (judge: first vs second → A first better, B second better, T tie, U abstained):')
    for (const v of verdicts) {
      lines.push(`  ${short(v.from)}: ${v.body.verdicts.map((x) => `${short(x.a).slice(0, 4)}v${short(x.b).slice(0, 4)}=${x.v}${x.p >= 0 ? `(${(x.p / 100).toFixed(0)}%)` : ''}`).join(' ')}`)
    }
  }
  if (o.ranked) {
    const rules = (envs[0] as Envelope<'Query'>).body.rules.version
    const support = rules === 1 ? '0.5·ln(how many)' : '0.5·ln of how many, each counted by its ledger record'
    lines.push('', `Scores (group score = mean strength of the answers sharing a final answer + ${support};`, '        strength = judged log-strength with its 95% interval):')
    for (const s of o.scores) {
      lines.push(
        `  ${short(s.node)}  score ${(s.score / 1e6).toFixed(3).padStart(7)}  strength ${(s.theta / 1e6).toFixed(3).padStart(7)} [${(s.lo / 1e6).toFixed(2)}, ${(s.hi / 1e6).toFixed(2)}]  shared by ${s.support}${s.node === o.winner ? '  ← winner' : ''}`,
      )
    }
  } else {
    lines.push('', `Unranked: fewer than 3 answers or no usable verdict; the plurality answer is returned.`)
  }
  if (o.excluded.length > 0) {
    lines.push(`Left out by the GOOD/BAD prefilter (judges marked them no genuine attempt; their tickets are forfeit): ${o.excluded.map(short).join(', ')}`)
  }
  lines.push('', `Winner ${short(o.winner)}${o.separated ? ' (clearly ahead of the runner-up)' : ' (not separated from the runner-up)'}:`, `  ${clean(o.answer, 400)}`)
  lines.push('', `Baselines: majority vote → ${short(o.baselines.majority)}, weighted Bradley–Terry → ${short(o.baselines.weightedBt)}, unweighted → ${short(o.baselines.unweighted)}`)
  const t = res.times
  const phase = (a?: number, b?: number) => (a !== undefined && b !== undefined ? `${b - a} ms` : '—')
  lines.push(
    '',
    `Phases: join ${phase(t.issued, t.joining)}, answer ${phase(t.joining, t.committing)}, reveal ${phase(t.committing, t.revealing)}, judge ${phase(t.revealing, t.verdictCommitting)}, verdict reveal ${phase(t.verdictCommitting, t.verdictRevealing)}; total ${Math.round(wall)} ms`,
    `Transcript root ${res.result.env.body.root} (${res.transcript.length} signed messages)`,
  )
  return `${lines.join('\n')}\n`
}
