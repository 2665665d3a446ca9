import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { writeKeyFile } from './keyFile.js'
import { ConfigError } from './modelSpec.js'

/**
 * A local network: one `chorus gateway` and N `chorus node` processes on loopback, with fresh keys
 * in a temporary folder. Used by `chorus devnet` and by the multi-process tests.
 */
export const DEVNET_HELP = `chorus devnet [--nodes N] [--model <spec>] [--port P] [--answer-seconds S]

  Starts a gateway and N node processes on 127.0.0.1 with generated keys, prints the API URL,
  and stops them all on Ctrl-C. --model as for chorus node (default: tiny generated models).
`

/** The CLI a child runs: beside this file when built; from dist/ when this is the TS source (tests). */
const HERE = fileURLToPath(import.meta.url)
const MAIN = HERE.endsWith('.ts') ? join(dirname(HERE), '../../dist/src/cli/main.js') : join(dirname(HERE), 'main.js')

export interface DevnetOptions {
  nodes: number
  model?: string
  /** A model per node (overrides `model`). */
  modelFor?: (i: number) => string | undefined
  port?: number
  answerSeconds?: number
  /** Called with each line a child prints (for logs). */
  onLine?: (who: string, line: string) => void
}

export interface DevnetNode {
  id: string
  keyPath: string
  proc: ChildProcess
}

export class Devnet {
  apiUrl = ''
  p2pAddr = ''
  gatewayId = ''
  readonly nodes: DevnetNode[] = []
  private gateway: ChildProcess | undefined
  private dir = ''

  constructor(private readonly opts: DevnetOptions) {}

  async start(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'chorus-devnet-'))
    const gwKey = join(this.dir, 'gateway.key')
    await writeKeyFile(gwKey)
    const gwArgs = ['gateway', '--key', gwKey, '--port', String(this.opts.port ?? 0), '--answer-seconds', String(this.opts.answerSeconds ?? 120)]
    this.gateway = this.spawn('gateway', gwArgs)
    const lines = await this.waitFor(this.gateway, 'gateway', (all) => /gateway ([0-9a-f]{64})\n {2}api {2}(\S+)\n {2}p2p {2}(\S+)/.exec(all))
    this.gatewayId = lines[1]!
    this.apiUrl = lines[2]!
    this.p2pAddr = lines[3]!
    for (let i = 0; i < this.opts.nodes; i++) {
      const keyPath = join(this.dir, `node-${i}.key`)
      const id = (await writeKeyFile(keyPath)).id
      this.nodes.push({ id, keyPath, proc: this.startNode(keyPath, i) })
    }
    await Promise.all(this.nodes.map((n, i) => this.waitFor(n.proc, `node-${i}`, (all) => /listening on/.exec(all))))
    await this.waitForNodes(this.opts.nodes)
  }

  private startNode(keyPath: string, i: number): ChildProcess {
    const model = this.opts.modelFor?.(i) ?? this.opts.model
    const args = ['node', '--key', keyPath, '--bootstrap', this.p2pAddr, ...(model ? ['--model', model] : [])]
    return this.spawn(`node-${i}`, args)
  }

  /** Restarts node i (same key) after it was killed. */
  async restart(i: number): Promise<void> {
    const n = this.nodes[i]!
    n.proc = this.startNode(n.keyPath, i)
    await this.waitFor(n.proc, `node-${i}`, (all) => /listening on/.exec(all))
  }

  /** Waits until the gateway sees `count` nodes subscribed. */
  async waitForNodes(count: number, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs
    for (;;) {
      const res = await fetch(`${this.apiUrl}/nodes`).then((r) => r.json() as Promise<{ data: unknown[] }>).catch(() => ({ data: [] }))
      if (res.data.length >= count) return
      if (Date.now() > end) throw new Error(`the gateway sees ${res.data.length} of ${count} nodes`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  async stop(): Promise<void> {
    const all = [this.gateway, ...this.nodes.map((n) => n.proc)].filter((p): p is ChildProcess => p !== undefined && p.exitCode === null && p.signalCode === null)
    await Promise.all(
      all.map(
        (p) =>
          new Promise<void>((resolve) => {
            const t = setTimeout(() => p.kill('SIGKILL'), 5000)
            p.once('exit', () => {
              clearTimeout(t)
              resolve()
            })
            p.kill('SIGTERM')
          }),
      ),
    )
    if (this.dir) await rm(this.dir, { recursive: true, force: true })
  }

  private spawn(who: string, args: string[]): ChildProcess {
    const p = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    const log = (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line.trim()) this.opts.onLine?.(who, line)
    }
    p.stdout!.on('data', log)
    p.stderr!.on('data', log)
    return p
  }

  private waitFor(p: ChildProcess, who: string, match: (all: string) => RegExpExecArray | null, timeoutMs = 60_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      let all = ''
      const onData = (d: Buffer) => {
        all += d.toString()
        const m = match(all)
        if (m) {
          cleanup()
          resolve(m)
        }
      }
      const onExit = (code: number | null) => {
        cleanup()
        reject(new ConfigError(`${who} exited (${code}) before it was ready:\n${all.trim().split('\n').slice(-5).join('\n')}`))
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new ConfigError(`${who} was not ready within ${timeoutMs} ms`))
      }, timeoutMs)
      const cleanup = () => {
        clearTimeout(timer)
        p.stdout!.off('data', onData)
        p.stderr!.off('data', onData)
        p.off('exit', onExit)
      }
      p.stdout!.on('data', onData)
      p.stderr!.on('data', onData)
      p.once('exit', onExit)
    })
  }
}

export async function devnet(args: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { nodes: { type: 'string' }, model: { type: 'string' }, port: { type: 'string' }, 'answer-seconds': { type: 'string' } },
  })
  const nodes = Number(values.nodes ?? 5)
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 64) throw new ConfigError('--nodes must be a whole number from 1 to 64')
  const net = new Devnet({
    nodes,
    ...(values.model ? { model: values.model } : {}),
    port: Number(values.port ?? 8080),
    answerSeconds: Number(values['answer-seconds'] ?? 120),
    onLine: (who, line) => {
      if (/unreachable|error|back;/i.test(line)) out(`[${who}] ${line}\n`)
    },
  })
  out(`starting a gateway and ${nodes} node processes on 127.0.0.1…\n`)
  try {
    await net.start()
  } catch (err) {
    await net.stop()
    throw err
  }
  out(`devnet up: API ${net.apiUrl} (model "chorus-swarm"), gateway ${net.p2pAddr}\n${net.nodes.map((n, i) => `  node-${i} ${n.id.slice(0, 16)}… pid ${n.proc.pid}`).join('\n')}\nCtrl-C stops them all.\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  out('stopping…\n')
  await net.stop()
  return 0
}
