import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { type Gateway, createGateway } from '../gateway/httpApi.js'
import type { ModelBackend } from '../models/backend.js'
import { MIN_MEMBERS } from '../protocol/limits.js'
import { createEmbeddedSwarm } from './embeddedSwarm.js'
import { readJsonConfig } from './jsonConfig.js'
import { BackendFactory, ConfigError, TINY_WARNING, buildBackends } from './modelSpec.js'
import { gatewayPrometheus } from './prometheus.js'
import { API_OPTIONS, API_SETTINGS, type ApiSettings, nodeCount, phaseDurations, readApiSettings } from './settings.js'

/**
 * `chorus up`: one process serving the OpenAI-compatible API over an embedded swarm (a coordinator
 * and N in-process nodes on the in-memory transport, the genesis ledger view).
 */
export const UP_HELP = `chorus up [options]

  Serves the swarm as an OpenAI-compatible API (model "chorus-swarm") from this process.

  --host <addr>         listen address (default 127.0.0.1)
  --port <n>            port (default 8080; 0 picks a free one)
  --nodes <n>           in-process nodes (default 5, at least ${MIN_MEMBERS})
  --model <spec>        as for chorus demo; repeat to mix. None: tiny generated models (meaningless)
  --config <file>       JSON: {"nodes", "models", "apiKeys", "ratePerSecond", "burst", "answerSeconds", "maxRounds", "host", "port"}
  --api-key <key>       accept this Bearer key (repeat; also CHORUS_API_KEYS=a,b). None: open
  --rate <r>            requests per second per key (default unlimited), with --burst <b> (default 2r)
  --answer-seconds <s>  how long members may take to answer or judge (default 120, at most 3600)
  --max-rounds <n>      rounds run at once (default 4)
`

export interface UpSettings extends ApiSettings {
  nodes: number
  models: string[]
}

export interface RunningGateway {
  url: string
  gateway: Gateway
  backends: ModelBackend[]
  tiny: boolean
  close(): Promise<void>
}

export async function readUpSettings(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<UpSettings> {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: { ...API_OPTIONS, nodes: { type: 'string' }, model: { type: 'string', multiple: true }, config: { type: 'string' } },
  })
  const file = values.config === undefined ? {} : await readJsonConfig(values.config, { ...API_SETTINGS, nodes: 'number', models: 'strings' })
  const models = values.model ?? (file.models as string[] | undefined) ?? []
  return { ...readApiSettings(values, file, env), nodes: nodeCount(values.nodes ?? file.nodes, 5, 256, MIN_MEMBERS), models }
}

/** Starts the swarm and the API; `backends` may be given (tests, benchmarks) instead of built. */
export async function startGateway(s: UpSettings, given?: ModelBackend[]): Promise<RunningGateway> {
  const factory = new BackendFactory()
  const { backends, tiny } = given ? { backends: given, tiny: false } : await buildBackends(factory, s.models, s.nodes)
  const swarm = createEmbeddedSwarm({
    nodes: s.nodes,
    backendFor: (_, i) => backends[i]!,
    durations: phaseDurations(s.answerSeconds),
    onBug: (err) => process.stderr.write(`up: contained an internal error: ${(err as Error)?.stack ?? String(err)}\n`),
  })
  const port = swarm.port(backends.map((b) => b.name))
  let running = () => 0
  let queued = () => 0
  const prom = gatewayPrometheus({ rejections: () => port.rejections(), bugs: () => swarm.bugs(), activeRounds: () => running(), queuedRounds: () => queued() })
  const gateway = createGateway({
    swarm: port,
    apiKeys: s.apiKeys,
    maxActiveRounds: s.maxRounds,
    metrics: prom.metrics,
    metricsPage: prom.page,
    ...(s.rateLimit ? { rateLimit: s.rateLimit } : {}),
  })
  running = () => gateway.admission.running
  queued = () => gateway.admission.waiting
  let address: string
  try {
    address = await gateway.app.listen({ host: s.host, port: s.port })
  } catch (err) {
    await swarm.stop()
    await factory.close()
    const code = (err as { code?: string }).code
    throw new ConfigError(code === 'EADDRINUSE' ? `port ${s.port} on ${s.host} is in use (try --port 0)` : `cannot listen on ${s.host}:${s.port}: ${(err as Error).message}`)
  }
  return {
    url: `${address}/v1`,
    gateway,
    backends,
    tiny,
    async close() {
      await gateway.app.close()
      await swarm.stop()
      await factory.close()
    },
  }
}

export async function up(args: string[], signal: AbortSignal): Promise<number> {
  const settings = await readUpSettings(args)
  const running = await startGateway(settings)
  if (running.tiny) process.stderr.write(`${TINY_WARNING}\n\n`)
  process.stdout.write(
    `Chorus gateway on ${running.url} — model "chorus-swarm", ${settings.nodes} nodes (${[...new Set(running.backends.map((b) => b.name))].join(', ')})\n` +
      `${settings.apiKeys.length > 0 ? `API keys required (${settings.apiKeys.length} configured)` : 'open: no API key required'}; Ctrl-C stops it.\n`,
  )
  if (!signal.aborted) await once(signal, 'abort')
  process.stdout.write('stopping…\n')
  await running.close()
  return 0
}
