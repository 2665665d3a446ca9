import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { type Gateway, createGateway } from '../gateway/httpApi.js'
import type { ModelBackend } from '../models/backend.js'
import { MIN_MEMBERS } from '../protocol/limits.js'
import { createEmbeddedSwarm } from './embeddedSwarm.js'
import { readJsonConfig } from './jsonConfig.js'
import { BackendFactory, ConfigError, TINY_WARNING, buildBackends } from './modelSpec.js'
import { gatewayPrometheus } from './prometheus.js'
import { API_OPTIONS, API_SETTINGS, type ApiSettings, gatewayOptionsOf, listenProblem, nodeCount, PRIVACY_HELP, phaseDurations, readApiSettings, readTools } from './settings.js'
import type { NodeTools } from '../node/tools/nodeTools.js'
import { swarmLedger, WORKSPACE_LEDGER } from './workspaceLedger.js'
import { CalibrationMixer, DEFAULT_CALIBRATION_RATE } from '../gateway/calibrationMixer.js'
import { calibrateSwarm, calibrationRequired, gateNote, workspaceRules } from './calibrationGate.js'
import { PREFILTER_OFF_NOTE, prefilterOn } from './prefilterFlag.js'
import { createLogger } from './logger.js'

/**
 * `chorus up`: one process serving the OpenAI-compatible API over an embedded swarm (a coordinator
 * and N in-process nodes on the in-memory transport, the genesis ledger view).
 */
export const UP_HELP = `chorus up [options]

  Serves the swarm as an OpenAI-compatible API (model "chorus-swarm") from this process.

  --host <addr>         listen address (default 127.0.0.1)
  --port <n>            port (default 8420; 0 picks a free one)
  --nodes <n>           in-process nodes (default 5, at least ${MIN_MEMBERS})
  --model <spec>        as for chorus demo; repeat to mix. None: tiny generated models (meaningless)
  --config <file>       JSON: {"nodes", "models", "apiKeys", "ratePerSecond", "burst", "answerSeconds", "maxRounds", "host", "port"}
  --cors <origin>       let browser pages from this origin call the API (repeatable; * for any)
  --log-level <level>   trace, debug, info (default), warn, error or silent: a line per request
                        and per round on stderr (JSON, or readable on a terminal)
  --api-key <key>       accept this Bearer key (repeat; also CHORUS_API_KEYS=a,b). None: open
  --rate <r>            requests per second per key (default unlimited), with --burst <b> (default 2r)
  --answer-seconds <s>  how long members may take to answer or judge (default 120, at most 3600)
  --max-rounds <n>      rounds run at once (default 4)
  --ledger-dir <dir>    where the ledger lives (default: here, ${WORKSPACE_LEDGER}); --no-ledger: none
  --calibration on|off  whether a new ledger makes each node pass a calibration challenge before it
                        judges (default on; off on tiny generated models, which judge at random)
  --prefilter on|off    whether judges mark answers that are no genuine attempt (empty, symbol
                        soup, a token repeated, the question echoed), which rounds then leave out
                        and whose tickets they take (default on; off on tiny generated models)
  --api-key KEY=ACCOUNT a client's key: its requests are charged to that ledger account (which must
                        allow this gateway: chorus ledger allow) and it reads only its own rounds
  --fee <units>         each round's fee, paid from the gateway's deposit (default 0.01)
  --ticket <units>      each member's ticket (default 0.0025, a quarter of the fee)
  --price <units>       price per 1 000 tokens of every answer and verdict (default 0.002)
  --cut <percent>       the gateway's share of each charge (default 10; the rest pays the nodes)
  --retention-hours <h> forget a round's transcript (and its prompt) after this long
  --reports <dir>       the chorus eval reports (.md, .svg) the dashboard's quality page shows
${PRIVACY_HELP}
  --tools maths,code    tools every node runs around its model: maths checks the arithmetic of its
                        own answer (re-asking its model once on an error) and, judging, prefers
                        the answer whose arithmetic holds; code runs code answers against the
                        question's \`\`\`tests block in a sandbox (no network, no files, no
                        processes; refused where unshare -rn is unavailable) and prefers the
                        answer that passes more
  --calibration-rate <r> hidden calibration rounds per request, 0 to 1 (default 0.05), where the
                        ledger requires calibration: known-answer questions run as ordinary rounds,
                        on which the ledger grades the judges
`

export interface UpSettings extends ApiSettings {
  nodes: number
  models: string[]
  /** Where the workspace ledger lives; undefined: run without a ledger. */
  ledgerDir?: string
  /** --calibration on|off as given (calibrationGate.ts; default: on, off on tiny models). */
  calibration?: string
  /** --tools: what every node runs around its model (node/tools). */
  tools?: NodeTools
  /** --prefilter on|off as given (prefilterFlag.ts; default: on, off on tiny models). */
  prefilter?: string
}

export interface RunningGateway {
  url: string
  gateway: Gateway
  backends: ModelBackend[]
  tiny: boolean
  /** The workspace ledger the swarm settles in, and the gateway's account there. */
  ledger?: { path: string; gateway: string }
  close(): Promise<void>
}

export async function readUpSettings(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<UpSettings> {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: { ...API_OPTIONS, nodes: { type: 'string' }, model: { type: 'string', multiple: true }, config: { type: 'string' }, 'ledger-dir': { type: 'string' }, 'no-ledger': { type: 'boolean', default: false }, calibration: { type: 'string' }, tools: { type: 'string' }, prefilter: { type: 'string' } },
  })
  if (values['no-ledger'] && values['ledger-dir'] !== undefined) throw new ConfigError('--ledger-dir and --no-ledger contradict each other')
  const file = values.config === undefined ? {} : await readJsonConfig(values.config, { ...API_SETTINGS, nodes: 'number', models: 'strings' })
  const models = values.model ?? (file.models as string[] | undefined) ?? []
  return {
    ...readApiSettings(values, file, env),
    nodes: nodeCount(values.nodes ?? file.nodes, 5, 256, MIN_MEMBERS),
    models,
    ...(values['no-ledger'] ? {} : { ledgerDir: values['ledger-dir'] ?? process.cwd() }),
    ...(values.calibration === undefined ? {} : { calibration: values.calibration }),
    ...(values.tools === undefined ? {} : { tools: readTools(values.tools)! }),
    ...(values.prefilter === undefined ? {} : { prefilter: values.prefilter }),
  }
}

/** Starts the swarm and the API; `backends` may be given (tests, benchmarks) instead of built. */
export async function startGateway(s: UpSettings, given?: ModelBackend[]): Promise<RunningGateway> {
  const factory = new BackendFactory()
  const { backends, tiny } = given ? { backends: given, tiny: false } : await buildBackends(factory, s.models, s.nodes, (line) => process.stderr.write(`${line}\n`))
  const onError = (err: unknown) => process.stderr.write(`up: the ledger did not settle a round: ${(err as Error)?.message ?? String(err)}\n`)
  // Backends handed in (tests, benchmarks) are not made to calibrate unless asked, as tiny ones.
  const gate = calibrationRequired(s.calibration, tiny || given !== undefined)
  const prefilter = prefilterOn(s.prefilter, tiny)
  if (!prefilter && tiny) process.stderr.write(`${PREFILTER_OFF_NOTE}\n`)
  const ledger = s.ledgerDir === undefined ? undefined : await swarmLedger(s.ledgerDir, s.nodes, { ...(s.terms ? { terms: s.terms } : {}), ...(s.pricing ? { pricing: s.pricing } : {}), onError, rules: workspaceRules(gate) })
  if (ledger) {
    process.stderr.write(`${gateNote(ledger, gate, tiny)}\n`)
    await calibrateSwarm(ledger, backends, (line) => process.stderr.write(`${line}\n`))
  }
  const swarm = createEmbeddedSwarm({
    nodes: s.nodes,
    backendFor: (_, i) => backends[i]!,
    durations: phaseDurations(s.answerSeconds),
    onBug: (err) => process.stderr.write(`up: contained an internal error: ${(err as Error)?.stack ?? String(err)}\n`),
    ...(ledger ? { ledger: ledger.network, paymaster: ledger.paymaster, client: ledger.client, identities: ledger.identities } : {}),
    ...(s.tools ? { toolsFor: () => s.tools } : {}),
    prefilter,
  })
  const plain = swarm.port(backends.map((b) => b.name))
  // With a ledger: hidden calibration rounds mixed into the traffic (off by itself where the ledger does not require calibration).
  const rate = s.calibrationRate ?? DEFAULT_CALIBRATION_RATE
  const mixer = ledger === undefined || rate === 0 ? undefined : new CalibrationMixer(plain, { identity: ledger.identities.coordinator, client: ledger.client, rate, onError: (err) => process.stderr.write(`up: a hidden calibration round was lost: ${(err as Error)?.message ?? String(err)}\n`) })
  const port = mixer ?? plain
  let running = () => 0
  let queued = () => 0
  const prom = gatewayPrometheus({
    rejections: () => port.rejections(),
    bugs: () => swarm.bugs(),
    activeRounds: () => running(),
    queuedRounds: () => queued(),
    ...(ledger ? { settlements: () => ledger.paymaster.results } : {}),
  })
  // No log at all when it would be silent (embedded gateways in tests and benchmarks).
  const level = s.logLevel ?? 'silent'
  const log = level === 'silent' ? undefined : createLogger({ level, name: 'gateway' })
  const gateway = createGateway({ swarm: port, ...gatewayOptionsOf(s, ledger ? { client: ledger.client, where: s.ledgerDir ?? 'of this workspace' } : undefined), metrics: prom.metrics, metricsPage: prom.page, ...(log ? { log } : {}) })
  running = () => gateway.admission.running
  queued = () => gateway.admission.waiting
  let address: string
  try {
    address = await gateway.app.listen({ host: s.host, port: s.port })
  } catch (err) {
    await mixer?.stop()
    await swarm.stop()
    await factory.close()
    ledger?.close()
    const code = (err as { code?: string }).code
    throw new ConfigError(listenProblem(code, s.host, s.port, (err as Error).message))
  }
  return {
    url: `${address}/v1`,
    gateway,
    backends,
    tiny,
    async close() {
      await gateway.app.close()
      await mixer?.stop()
      await swarm.stop()
      await factory.close()
      // Settlements still running finish first: the ledger closes last.
      await ledger?.paymaster.drain()
      ledger?.close()
    },
    ...(ledger ? { ledger: { path: ledger.workspace.path, gateway: ledger.identities.coordinator.id } } : {}),
  }
}

export async function up(args: string[], signal: AbortSignal): Promise<number> {
  const settings = await readUpSettings(args)
  const running = await startGateway(settings)
  if (running.tiny) process.stderr.write(`${TINY_WARNING}\n\n`)
  process.stdout.write(
    `Chorus gateway on ${running.url} — model "chorus-swarm", ${settings.nodes} nodes (${[...new Set(running.backends.map((b) => b.name))].join(', ')})\n` +
      `dashboard ${running.url.replace(/\/v1$/, '/')}\n` +
      `${settings.apiKeys.length + (settings.keyAccounts?.size ?? 0) > 0 ? `API keys required (${settings.apiKeys.length + (settings.keyAccounts?.size ?? 0)} configured)` : 'open: no API key required'}; Ctrl-C stops it.\n` +
      (running.ledger ? `ledger ${running.ledger.path}; gateway account ${running.ledger.gateway}\n` : 'no ledger: nobody is paid, every judge weighs the same\n'),
  )
  if (!signal.aborted) await once(signal, 'abort')
  process.stdout.write('stopping…\n')
  await running.close()
  return 0
}
