import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { identityFromSeed } from '../crypto/identity.js'
import { createLedgerServer } from '../ledger/ledgerServer.js'
import { calibrationRequired, workspaceRules } from './calibrationGate.js'
import { DevnetChain, type DevnetChainOptions } from './devnetChain.js'
import { enrolSwarm, openWorkspace, WORKSPACE_DIR, WORKSPACE_LEDGER, type Workspace, workspaceSeed } from './workspaceLedger.js'
import { ConfigError } from './modelSpec.js'
import { answerSeconds, DEFAULT_API_PORT, nodeCount, number } from './settings.js'

/**
 * A local network: one `chorus gateway` and N `chorus node` processes on loopback, and (with a
 * ledger) `chorus ledger serve`'s service in this process, on the workspace ledger. Used by
 * `chorus devnet` and by the multi-process tests.
 *
 * Keys are handed to each child in its environment (`--key env:…`, which the child deletes once
 * read), never written to disk. Without a ledger they are random, so none outlives the devnet; on a
 * ledger they derive from the workspace's operator key, so the nodes keep their stake and record
 * from one devnet run to the next. Each child holds an
 * IPC channel to this process and stops when it closes, so the children die with the devnet even
 * when it is killed with SIGKILL. Supervised (`chorus devnet` is), a child that dies is reported
 * and restarted with its key and its ports, so nodes find a restarted gateway where it was.
 */
export const DEVNET_HELP = `chorus devnet [--nodes N] [--model <spec>] [--port P] [--answer-seconds S]

  Starts a gateway and N node processes on 127.0.0.1, serves them the workspace ledger
  (${WORKSPACE_LEDGER}: the gateway and nodes registered, staked and funded by its faucet), prints
  the API and ledger URLs, restarts any process that dies, and stops them all on Ctrl-C.
  --model as for chorus node (default: tiny generated models).
  --ledger-dir <dir>   where the ledger lives (default: here); --no-ledger: none (random keys,
                       nobody paid)
  --calibration on|off whether a new ledger makes each node pass a calibration challenge before
                       it judges (default on; off on tiny generated models, which judge at random)
  --ledger evm         also anchor the ledger on an EVM chain: starts anvil on 127.0.0.1 (a fresh
                       chain), deploys the rollup and governance, bonds three verifiers, and posts
                       a batch every 2 s that two of them rebuilt and signed (default: sqlite only)
`

/** The CLI a child runs: beside this file when built; from dist/ when this is the TS source (tests). */
const HERE = fileURLToPath(import.meta.url)
const MAIN = HERE.endsWith('.ts') ? join(dirname(HERE), '../../dist/src/cli/main.js') : join(dirname(HERE), 'main.js')

/** The environment variable a devnet child reads its key seed from. */
const KEY_VARIABLE = 'CHORUS_DEVNET_KEY'

export interface DevnetOptions {
  nodes: number
  model?: string
  /** A model per node (overrides `model`). */
  modelFor?: (i: number) => string | undefined
  port?: number
  answerSeconds?: number
  /** Extra arguments for every node (limits, horizon). */
  nodeArgs?: string[]
  /** Restart a child that dies (default false: tests kill and restart by hand). */
  supervise?: boolean
  /** Called with each line a child prints (for logs). */
  onLine?: (who: string, line: string) => void
  /** Called when a supervised child dies and when it is back. */
  onEvent?: (line: string) => void
  /** Serve this folder's workspace ledger to the devnet (default: none). */
  ledgerDir?: string
  /** Whether a new workspace ledger requires calibration (default: off on tiny models, else on). */
  calibration?: boolean
  /** Anchor the ledger on an EVM chain (anvil, started here) as a rollup's sequencer (devnetChain.ts). */
  evm?: DevnetChainOptions
}

interface Child {
  who: string
  seed: Buffer
  args: () => string[]
  proc: ChildProcess
  ready: RegExp
  /** Exit times of recent crashes, for backing off a child that keeps dying. */
  crashes: number[]
}

export interface DevnetNode {
  id: string
  proc: ChildProcess
  /** Where the node listens (its libp2p addresses, as it printed them). */
  addrs: string[]
}

export class Devnet {
  apiUrl = ''
  p2pAddr = ''
  gatewayId = ''
  /** The served ledger's URL, when the devnet has one. */
  ledgerUrl = ''
  readonly nodes: DevnetNode[] = []
  private ledger: { workspace: Workspace; close: () => Promise<void> } | undefined
  /** The custody chain the ledger anchors on, with `evm`. */
  chain: DevnetChain | undefined
  private gateway: Child | undefined
  private readonly children: Child[] = []
  private stopping = false

  constructor(private readonly opts: DevnetOptions) {}

  /** The gateway process (it changes when the gateway is restarted). */
  get gatewayProc(): ChildProcess | undefined {
    return this.gateway?.proc
  }

  async start(): Promise<void> {
    const seeds = await this.serveLedger()
    const gwSeed = seeds?.gateway ?? randomBytes(32)
    this.gatewayId = identityFromSeed(gwSeed).id
    let httpPort = this.opts.port ?? 0
    let listen = '/ip4/127.0.0.1/tcp/0'
    const ledgerArgs = this.ledgerUrl ? ['--ledger', this.ledgerUrl] : []
    // The gateway's debts to the ledger wait beside the ledger, where its next run finds them.
    const outboxArgs = this.ledgerUrl ? ['--outbox', join(this.opts.ledgerDir!, WORKSPACE_DIR, `outbox-${this.gatewayId.slice(0, 16)}.sqlite`)] : []
    const gwArgs = () => ['gateway', '--key', `env:${KEY_VARIABLE}`, '--port', String(httpPort), '--listen', listen, '--answer-seconds', String(this.opts.answerSeconds ?? 120), ...ledgerArgs, ...outboxArgs]
    const gw = this.launch('gateway', gwSeed, gwArgs, /gateway ([0-9a-f]{64})\n {2}api {2}(\S+)\n {2}p2p {2}(\S+)/)
    this.gateway = gw
    const lines = await this.waitFor(gw)
    this.apiUrl = lines[2]!
    this.p2pAddr = lines[3]!
    // A restarted gateway comes back on the same ports, where the nodes keep dialling it.
    httpPort = Number(new URL(this.apiUrl).port)
    listen = this.p2pAddr.replace(/\/p2p\/.*$/, '')
    for (let i = 0; i < this.opts.nodes; i++) {
      const seed = seeds?.node(i) ?? randomBytes(32)
      const model = this.opts.modelFor?.(i) ?? this.opts.model
      const args = () => ['node', '--key', `env:${KEY_VARIABLE}`, '--bootstrap', this.p2pAddr, ...(model ? ['--model', model] : []), ...ledgerArgs, ...(this.opts.nodeArgs ?? [])]
      const child = this.launch(`node-${i}`, seed, args, /listening on (.*)\n/)
      this.nodes.push({ id: identityFromSeed(seed).id, proc: child.proc, addrs: [] })
    }
    const ready = await Promise.all(this.children.slice(1).map((c) => this.waitFor(c)))
    ready.forEach((m, i) => (this.nodes[i]!.addrs = m[1]!.trim().split(' ')))
    await this.waitForNodes(this.opts.nodes)
  }

  /** Opens the workspace ledger, enrols this devnet's gateway and nodes, and serves it on loopback. */
  private async serveLedger(): Promise<{ gateway: Buffer; node: (i: number) => Buffer } | undefined> {
    if (this.opts.ledgerDir === undefined) return undefined
    // Tiny generated models and protocol-test backends judge meaninglessly: they would all fail.
    const meaningless = (m: string | undefined) => m === undefined || m.startsWith('test:')
    const tiny = this.opts.modelFor === undefined && meaningless(this.opts.model)
    const workspace = await openWorkspace(this.opts.ledgerDir, workspaceRules(this.opts.calibration ?? !tiny))
    const gateway = workspaceSeed(workspace.seed, 'gateway')
    const node = (i: number) => workspaceSeed(workspace.seed, 'node', i)
    try {
      const nodes = Array.from({ length: this.opts.nodes }, (_, i) => identityFromSeed(node(i)))
      enrolSwarm(workspace.ledger, workspace.operator, identityFromSeed(gateway), nodes)
      if (this.opts.evm !== undefined) this.chain = await DevnetChain.start(workspace.ledger, nodes, { publishTo: join(dirname(workspace.path), 'batch-proposal.json'), ...this.opts.evm })
      const server = createLedgerServer({ ledger: workspace.ledger })
      this.ledgerUrl = await server.listen({ host: '127.0.0.1', port: 0 })
      this.ledger = {
        workspace,
        close: async () => {
          await server.close()
          workspace.ledger.close()
        },
      }
    } catch (err) {
      await this.chain?.stop()
      workspace.ledger.close()
      throw err
    }
    return { gateway, node }
  }

  /** The ledger file this devnet serves, when it has one. */
  get ledgerPath(): string | undefined {
    return this.ledger?.workspace.path
  }

  /** Whether the served ledger makes nodes pass calibration before they judge (undefined: no ledger). */
  get calibrationRequired(): boolean | undefined {
    return this.ledger === undefined ? undefined : (this.ledger.workspace.ledger.rules().calibration?.required ?? false)
  }

  /** Restarts node i (same key) after it was killed; for tests that do not supervise. */
  async restart(i: number): Promise<void> {
    await this.relaunch(this.children[i + 1]!)
  }

  /** Restarts the gateway (same key, same ports) after it was killed; for tests that do not supervise. */
  async restartGateway(): Promise<void> {
    await this.relaunch(this.gateway!)
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
    this.stopping = true
    const live = this.children.map((c) => c.proc).filter((p) => p.exitCode === null && p.signalCode === null)
    await Promise.all(
      live.map(async (p) => {
        const t = setTimeout(() => p.kill('SIGKILL'), 5000)
        p.kill('SIGCONT') // a stopped child cannot act on SIGTERM
        p.kill('SIGTERM')
        if (p.exitCode === null && p.signalCode === null) await once(p, 'exit')
        clearTimeout(t)
      }),
    )
    // The children are gone: nothing settles any more; the last anchor ends, and the ledger closes last.
    await this.chain?.stop()
    this.chain = undefined
    await this.ledger?.close()
    this.ledger = undefined
  }

  private launch(who: string, seed: Buffer, args: () => string[], ready: RegExp): Child {
    const child: Child = { who, seed, args, ready, proc: undefined as unknown as ChildProcess, crashes: [] }
    this.children.push(child)
    this.spawnChild(child)
    return child
  }

  private async relaunch(child: Child): Promise<void> {
    this.spawnChild(child)
    const ready = await this.waitFor(child)
    const node = this.nodes.find((n) => n.id === identityFromSeed(child.seed).id)
    if (node !== undefined) node.addrs = ready[1]!.trim().split(' ')
  }

  private spawnChild(child: Child): void {
    const p = spawn(process.execPath, [MAIN, ...child.args()], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, [KEY_VARIABLE]: child.seed.toString('hex'), CHORUS_EXIT_WITH_PARENT: '1' },
    })
    // The channel only watches for this process's death; it must not keep this process alive.
    p.channel?.unref()
    child.proc = p
    const i = this.nodes.findIndex((n) => n.id === identityFromSeed(child.seed).id)
    if (i >= 0) this.nodes[i]!.proc = p
    const log = (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line.trim()) this.opts.onLine?.(child.who, line)
    }
    p.stdout!.on('data', log)
    p.stderr!.on('data', log)
    p.once('exit', (code, signal) => {
      if (this.stopping || !this.opts.supervise || child.proc !== p) return
      this.supervise(child, code, signal)
    })
  }

  /** Reports a dead child and starts it again, backing off if it keeps dying. */
  private supervise(child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    const now = Date.now()
    child.crashes = [...child.crashes.filter((t) => now - t < 60_000), now]
    const delay = Math.min(30_000, 200 * 2 ** (child.crashes.length - 1))
    this.opts.onEvent?.(`${child.who} exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`)
    setTimeout(() => {
      if (this.stopping) return
      this.opts.onEvent?.(`${child.who} restarting`)
      this.relaunch(child).then(
        () => this.opts.onEvent?.(`${child.who} is back (pid ${child.proc.pid})`),
        (err: Error) => this.opts.onEvent?.(`${child.who} did not come back: ${err.message}`),
      )
    }, delay).unref()
  }

  private waitFor(child: Child, timeoutMs = 60_000): Promise<RegExpExecArray> {
    const p = child.proc
    return new Promise((resolve, reject) => {
      let all = ''
      const onData = (d: Buffer) => {
        all += d.toString()
        const m = child.ready.exec(all)
        if (m) {
          cleanup()
          resolve(m)
        }
      }
      const onExit = (code: number | null) => {
        cleanup()
        reject(new ConfigError(`${child.who} exited (${code}) before it was ready:\n${all.trim().split('\n').slice(-5).join('\n')}`))
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new ConfigError(`${child.who} was not ready within ${timeoutMs} ms`))
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

export async function devnet(args: string[], signal: AbortSignal, out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { nodes: { type: 'string' }, model: { type: 'string' }, port: { type: 'string' }, 'answer-seconds': { type: 'string' }, 'ledger-dir': { type: 'string' }, 'no-ledger': { type: 'boolean', default: false }, ledger: { type: 'string' }, calibration: { type: 'string' } },
  })
  const onChain = values.ledger === 'evm'
  if (values.ledger !== undefined && values.ledger !== 'evm' && values.ledger !== 'sqlite') throw new ConfigError('--ledger is sqlite (the default) or evm')
  if (onChain && values['no-ledger']) throw new ConfigError('--ledger evm and --no-ledger contradict each other')
  const calibration = calibrationRequired(values.calibration, values.model === undefined || values.model.startsWith('test:'))
  if (values['no-ledger'] && values['ledger-dir'] !== undefined) throw new ConfigError('--ledger-dir and --no-ledger contradict each other')
  const nodes = nodeCount(values.nodes, 5, 64, 3)
  const net = new Devnet({
    nodes,
    ...(values.model ? { model: values.model } : {}),
    port: number(values.port ?? DEFAULT_API_PORT, '--port', (n) => Number.isInteger(n) && n >= 0 && n <= 65535),
    answerSeconds: answerSeconds(values['answer-seconds']),
    supervise: true,
    ...(values['no-ledger'] ? {} : { ledgerDir: values['ledger-dir'] ?? process.cwd() }),
    calibration,
    ...(onChain
      ? {
          evm: {
            onTurn: (t) => {
              if (t.posted !== undefined) out(`anchored batch ${t.posted.header.index}: ${t.posted.header.rounds} round(s)${t.finalized > 0 ? `; ${t.finalized} batch(es) final` : ''}\n`)
            },
            onError: (err) => out(`anchoring failed (next try in 2 s): ${err.message.split('\n')[0]}\n`),
          },
        }
      : {}),
    onLine: (who, line) => {
      if (/unreachable|error|back;|^calibration: \d/i.test(line)) out(`[${who}] ${line}\n`)
    },
    onEvent: (line) => out(`${line}\n`),
  })
  out(`starting a gateway and ${nodes} node processes on 127.0.0.1…\n`)
  try {
    await net.start()
  } catch (err) {
    await net.stop()
    throw err
  }
  const gate = net.calibrationRequired === undefined ? '' : net.calibrationRequired ? 'calibration gate on: each node takes the challenge before its verdicts weigh\n' : `calibration gate off: every staked node judges${values.model === undefined ? ' (tiny generated models judge at random and would all fail it; --calibration on to require it anyway)' : ''}\n`
  out(`devnet up: API ${net.apiUrl} (model "chorus-swarm"), gateway ${net.p2pAddr} pid ${net.gatewayProc?.pid}\n${net.ledgerUrl ? `ledger ${net.ledgerUrl} (${net.ledgerPath})\n${gate}` : ''}${net.chain ? `rollup ${net.chain.rollup.address} and governance ${net.chain.governance.address} on anvil ${net.chain.engine.rpcUrl}: batches every 2 s, final after 2 s\n` : ''}${net.nodes.map((n, i) => `  node-${i} ${n.id.slice(0, 16)}… pid ${n.proc.pid}`).join('\n')}\nCtrl-C stops them all.\n`)
  if (!signal.aborted) await once(signal, 'abort')
  out('stopping…\n')
  await net.stop()
  return 0
}
