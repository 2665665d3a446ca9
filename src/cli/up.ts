import { parseArgs } from 'node:util'
import { type Gateway, createGateway } from '../gateway/httpApi.js'
import type { ModelBackend } from '../models/backend.js'
import type { PhaseDurations } from '../round/coordinator.js'
import { createEmbeddedSwarm } from './embeddedSwarm.js'
import { readJsonConfig, type SettingTypes } from './jsonConfig.js'
import { BackendFactory, ConfigError, TINY_WARNING, buildBackends } from './modelSpec.js'

/**
 * `chorus up`: one process serving the OpenAI-compatible API over an embedded swarm (a coordinator
 * and N in-process nodes on the in-memory transport, the genesis ledger view).
 */
export const UP_HELP = `chorus up [options]

  Serves the swarm as an OpenAI-compatible API (model "chorus-swarm") from this process.

  --host <addr>         listen address (default 127.0.0.1)
  --port <n>            port (default 8080; 0 picks a free one)
  --nodes <n>           in-process nodes (default 5)
  --model <spec>        as for chorus demo; repeat to mix. None: tiny generated models (meaningless)
  --config <file>       JSON: {"nodes", "models", "apiKeys", "ratePerSecond", "burst", "answerSeconds", "host", "port"}
  --api-key <key>       accept this Bearer key (repeat; also CHORUS_API_KEYS=a,b). None: open
  --rate <r>            requests per second per key (default unlimited), with --burst <b> (default 2r)
  --answer-seconds <s>  how long members may take to answer or judge (default 120)
`

export interface UpSettings {
  host: string
  port: number
  nodes: number
  models: string[]
  apiKeys: string[]
  ratePerSecond?: number
  burst?: number
  answerSeconds: number
}

export interface RunningGateway {
  url: string
  gateway: Gateway
  backends: ModelBackend[]
  tiny: boolean
  close(): Promise<void>
}

const SETTINGS: SettingTypes = { nodes: 'number', models: 'strings', apiKeys: 'strings', ratePerSecond: 'number', burst: 'number', answerSeconds: 'number', host: 'string', port: 'number' }

export async function readUpSettings(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<UpSettings> {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      nodes: { type: 'string' },
      model: { type: 'string', multiple: true },
      config: { type: 'string' },
      'api-key': { type: 'string', multiple: true },
      rate: { type: 'string' },
      burst: { type: 'string' },
      'answer-seconds': { type: 'string' },
    },
  })
  const file = values.config === undefined ? {} : await readJsonConfig(values.config, SETTINGS)
  const num = (v: unknown, name: string, ok: (n: number) => boolean) => {
    const n = Number(v)
    if (!ok(n)) throw new ConfigError(`${name} is out of range: ${String(v)}`)
    return n
  }
  const nodes = num(values.nodes ?? file.nodes ?? 5, '--nodes', (n) => Number.isInteger(n) && n >= 1 && n <= 256)
  const port = num(values.port ?? file.port ?? 8080, '--port', (n) => Number.isInteger(n) && n >= 0 && n <= 65535)
  const rate = values.rate ?? file.ratePerSecond
  const ratePerSecond = rate === undefined ? undefined : num(rate, '--rate', (n) => n > 0)
  const burstRaw = values.burst ?? file.burst
  const burst = burstRaw === undefined ? undefined : num(burstRaw, '--burst', (n) => n >= 1)
  const apiKeys = [...(values['api-key'] ?? []), ...((file.apiKeys as string[] | undefined) ?? []), ...(env.CHORUS_API_KEYS?.split(',') ?? [])]
    .map((k) => k.trim())
    .filter((k) => k !== '')
  const models = values.model ?? (file.models as string[] | undefined) ?? []
  if (!Array.isArray(models) || models.some((m) => typeof m !== 'string')) throw new ConfigError('models must be a list of model specs')
  return {
    host: String(values.host ?? file.host ?? '127.0.0.1'),
    port,
    nodes,
    models,
    apiKeys,
    answerSeconds: num(values['answer-seconds'] ?? file.answerSeconds ?? 120, '--answer-seconds', (n) => n > 0),
    ...(ratePerSecond === undefined ? {} : { ratePerSecond }),
    ...(burst === undefined ? {} : { burst }),
  }
}

/** Starts the swarm and the API; `backends` may be given (tests, benchmarks) instead of built. */
export async function startGateway(s: UpSettings, given?: ModelBackend[]): Promise<RunningGateway> {
  const factory = new BackendFactory()
  const { backends, tiny } = given ? { backends: given, tiny: false } : await buildBackends(factory, s.models, s.nodes)
  const ms = s.answerSeconds * 1000
  const durations: PhaseDurations = { join: 1000, commit: ms, reveal: 5000, verdictCommit: ms, verdictReveal: 5000 }
  const maxActiveRounds = 8
  const swarm = createEmbeddedSwarm({ nodes: s.nodes, backendFor: (_, i) => backends[i]!, durations, maxConcurrentRounds: maxActiveRounds })
  const gateway = createGateway({
    swarm: swarm.port(backends.map((b) => b.name)),
    apiKeys: s.apiKeys,
    maxActiveRounds,
    ...(s.ratePerSecond === undefined ? {} : { rateLimit: { ratePerS: s.ratePerSecond, burst: s.burst ?? Math.max(1, 2 * s.ratePerSecond) } }),
  })
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

export async function up(args: string[]): Promise<number> {
  const settings = await readUpSettings(args)
  const running = await startGateway(settings)
  if (running.tiny) process.stderr.write(`${TINY_WARNING}\n\n`)
  process.stdout.write(
    `Chorus gateway on ${running.url} — model "chorus-swarm", ${settings.nodes} nodes (${[...new Set(running.backends.map((b) => b.name))].join(', ')})\n` +
      `${settings.apiKeys.length > 0 ? `API keys required (${settings.apiKeys.length} configured)` : 'open: no API key required'}; Ctrl-C stops it.\n`,
  )
  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  process.stdout.write('stopping…\n')
  await running.close()
  return 0
}
