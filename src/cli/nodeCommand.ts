import { relevantTo } from '../node/participation.js'
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { BackendHealth } from '../node/backendHealth.js'
import { NodeDaemon } from '../node/nodeDaemon.js'
import { StatusReporter } from '../node/statusReporter.js'
import { ParameterWatch } from '../ledger/evm/parameterWatch.js'
import { contracts, readChainConfig } from './chainConfig.js'
import { HttpLedgerClient } from '../ledger/httpLedgerClient.js'
import { CalibrationKeeper, calibrationLine } from '../node/calibration.js'
import { calibrationRequired } from './calibrationGate.js'
import { prefilterOn } from './prefilterFlag.js'
import { CachedLedger, fixedLedger } from '../ledger/networkLedger.js'
import { genesisLedgerView } from '../round/ledgerView.js'
import { systemClock } from '../runtime/clock.js'
import { createLibp2pTransport } from '../transport/libp2p.js'
import { readJsonConfig, type SettingTypes } from './jsonConfig.js'
import { readKeyFile } from './keyFile.js'
import { serveMetrics } from './metricsServer.js'
import { BackendFactory, ConfigError, parseModelSpec, tinyModels, TINY_ANSWER_TOKENS } from './modelSpec.js'
import { nodePrometheus } from './prometheus.js'
import { metricsPort, NETWORK_OPTIONS, NETWORK_SETTINGS, NODE_OPTIONS, NODE_SETTINGS, readGovernorSettings, readNodeLimits, readTools } from './settings.js'
import { LoadGovernor, runGovernor } from '../node/loadGovernor.js'
import { createLogger, logLevel, logPeers } from './logger.js'
import { statusLine } from '../node/statusLine.js'
import { formatUnits } from '../ledger/amount.js'

/**
 * `chorus node`: one node process on the network. Composition root: key file → identity and libp2p
 * host; model spec → backend (health-checked: while it is down the node stays out of rounds);
 * bootstrap peers and mdns → the network; its state gossiped for gateways to show. Runs until
 * `signal` aborts.
 */
export const NODE_HELP = `chorus node --key <file> [options]

  --key <file>            the node's key file (create one with: chorus keygen <file>), or
                          env:NAME to read the key seed from that environment variable
  --listen <multiaddr>    where to listen (default /ip4/127.0.0.1/tcp/0); repeatable. Behind NAT
                          nothing else is needed: a node dials its gateway, and rounds use that link
  --bootstrap <addr>      a peer to connect to, e.g. a gateway's /ip4/…/tcp/…/p2p/… (or its
                          relayed …/p2p-circuit/p2p/… address); repeatable
  --mdns                  also find peers on the local network
  --relay                 relay for hosts that cannot be dialled (circuit relay v2)
  --model <spec>          .gguf file, ollama:<model>, openai:<url>#<model> (default: a tiny
                          generated model, meaningless), or test:instant (protocol tests only)
  --capacity <n>          rounds held at once (default 16)
  --per-gateway <n>       rounds held at once for any one gateway (default 8)
  --horizon-seconds <s>   refuse rounds whose last deadline is further away (default 600)
  --gateways <id,id>      serve only these gateways (their ids, as chorus gateway prints)
  --ledger <url>          the network's ledger (chorus ledger serve): the node serves only
                          registered gateways whose fee meets --min-fee and whose deposit covers
                          the rounds it holds for them, and joins only while staked there
                          (chorus ledger register --kind node; chorus ledger stake)
  --min-fee <units>       the least fee a round must offer (default 0.001)
  --chain <file>          the network's custody chain (a chain.json from chorus ledger deploy):
                          serve only Queries that offer the ticket price governance has in force
                          there, by rules no older than its oldest live version (read every 10 s)
  --calibration on|off    on a ledger that requires it, take the calibration challenge (20 known-
                          answer pairs judged with this node's model, 17 right) so this node's
                          verdicts weigh; again later if it fails (default on)
  --prefilter on|off      as a judge, mark answers that are no genuine attempt (empty, symbol soup,
                          a token repeated, the question echoed): rules-4 rounds leave out what most
                          judges mark and take its ticket (default on; off on the tiny default model)
  --domains <a,b>         only join rounds tagged with one of these domains (default: all)
  --tools maths,code      maths: check the arithmetic of this node's own answers (re-asking its
                          model once on an error) and, judging, prefer the answer whose arithmetic
                          holds; code: run code answers against the question's \`\`\`tests block
                          in a sandbox (no network, files or processes; refused where unshare -rn
                          is unavailable) and prefer the answer passing more. The evidence goes
                          into each verdict, signed
  --max-load <share>      stop joining new rounds while the machine (this node aside) is busier
                          than this share of all its cores, e.g. 0.75 (default: off)
  --resume-load <share>   join again once it is down to this share (default: max-load − 0.25)
  --quiet-hours <from-to> join nothing during these local hours, e.g. 22-7
  --log-level <level>     trace, debug, info (default), warn, error or silent: on stderr, one
                          JSON object per line, or readable lines on a terminal
  --metrics-port <n>      serve Prometheus metrics on 127.0.0.1:<n>/metrics
  --config <file>         JSON with the same settings: key, listen, bootstrap, mdns, relay, model,
                          capacity, perGateway, horizonSeconds, gateways, domains, metricsPort,
                          ledger, minFee, maxLoad, resumeLoad, quietHours, tools, prefilter
`

/** How often the load governor samples the machine. */
const GOVERNOR_SAMPLE_MS = 1_000

export const NODE_CONFIG_SETTINGS: SettingTypes = { ...NETWORK_SETTINGS, ...NODE_SETTINGS, model: 'string', domains: 'string', tools: 'string', prefilter: 'string' }

export async function nodeCommand(args: string[], signal: AbortSignal, out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const { values } = parseArgs({ args, options: { ...NETWORK_OPTIONS, ...NODE_OPTIONS, model: { type: 'string' }, domains: { type: 'string' }, calibration: { type: 'string' }, chain: { type: 'string' }, tools: { type: 'string' }, prefilter: { type: 'string' } } })
  const calibrate = calibrationRequired(values.calibration, false)
  const file = values.config === undefined ? {} : await readJsonConfig(values.config, NODE_CONFIG_SETTINGS)
  if (values.chain !== undefined && (values.ledger ?? file.ledger) === undefined) throw new ConfigError("--chain needs --ledger (the chain's terms apply to paid rounds)")
  const keyPath = values.key ?? (file.key as string | undefined)
  if (keyPath === undefined) throw new ConfigError('a node needs --key <file> (create one with: chorus keygen <file>)')
  const limits = readNodeLimits(values, file)
  const log = createLogger({ level: logLevel(values['log-level'] ?? file.logLevel), name: 'node' })
  const metrics = metricsPort(values, file)
  const { identity, seed } = await readKeyFile(keyPath)
  const domainsRaw = values.domains ?? (file.domains as string | undefined)
  const domains = domainsRaw === undefined ? undefined : new Set(String(domainsRaw).split(',').map((d) => d.trim()).filter(Boolean))
  const tools = readTools(values.tools ?? file.tools)
  const modelGiven = (values.model ?? file.model) !== undefined
  const prefilter = prefilterOn(values.prefilter ?? file.prefilter, !modelGiven)
  const factory = new BackendFactory()
  const modelSpec = values.model ?? (file.model as string | undefined)
  const backend =
    modelSpec === undefined
      ? await factory.create({ kind: 'gguf', path: (await tinyModels(1, undefined, identity.id.slice(0, 8)))[0]! }, `tiny-random-${identity.id.slice(0, 6)}`, TINY_ANSWER_TOKENS)
      : await factory.create(parseModelSpec(modelSpec), undefined, 256, identity.id)
  let transport: Awaited<ReturnType<typeof createLibp2pTransport>>
  try {
    transport = await createLibp2pTransport({
      seed,
      listen: values.listen ?? (file.listen as string[] | undefined) ?? ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: values.bootstrap ?? (file.bootstrap as string[] | undefined) ?? [],
      mdns: values.mdns ?? (file.mdns as boolean | undefined) ?? false,
      relay: values.relay ?? (file.relay as boolean | undefined) ?? false,
    })
  } catch (err) {
    await factory.close()
    const msg = (err as Error).message
    throw new ConfigError(/EADDRINUSE|address already in use/i.test(msg) ? `the listen address is in use: ${msg}` : `cannot start the network: ${msg}`)
  }
  const ledgerUrl = values.ledger ?? (file.ledger as string | undefined)
  let network: CachedLedger | undefined
  const client = ledgerUrl === undefined ? undefined : new HttpLedgerClient(ledgerUrl)
  if (client !== undefined) {
    try {
      network = await CachedLedger.connect(client)
    } catch (err) {
      await transport.close()
      await factory.close()
      throw new ConfigError(`cannot read the ledger at ${ledgerUrl}: ${(err as Error).message}`)
    }
    network.start()
    if (!network.latest().eligible(identity.id)) out(`note: this node is not staked on the ledger; it joins no round until it is (chorus ledger register --kind node --key <its key> --ledger ${ledgerUrl})\n`)
  }
  const health = new BackendHealth(backend, (ok, error) =>
    out(ok ? `model ${backend.name} is back; taking rounds again\n` : `model ${backend.name} is unreachable (${error}); staying out of rounds until it recovers\n`),
  )
  await health.start()
  if (!health.healthy) out(`model ${backend.name} is unreachable (${health.lastError}); staying out of rounds until it recovers\n`)
  // Off unless asked for: then the node stops joining while its owner's machine is busy.
  const governing = readGovernorSettings(values, file)
  const idleEnough =
    governing === undefined
      ? () => true
      : runGovernor(new LoadGovernor(governing), { everyMs: GOVERNOR_SAMPLE_MS, signal, onChange: (s) => out(s === 'joining' ? 'the machine is idle again: joining rounds\n' : `${s}: joining no new rounds\n`) })
  const daemon = new NodeDaemon(
    {
      identity,
      backend,
      ledger: network ?? fixedLedger(genesisLedgerView()),
      limits,
      wantsRound: (q) => health.healthy && relevantTo(domains, q) && idleEnough(),
      ...(domains ? { domains: [...domains] } : {}),
      ...(tools ? { tools } : {}),
      prefilter,
    },
    { transport, verification: 'auto', onBug: (err) => process.stderr.write(`node: contained an internal error: ${(err as Error)?.stack ?? String(err)}\n`) },
  )
  const reporter = new StatusReporter({ identity, transport, clock: systemClock, status: () => daemon.status(backend.name) })
  const watch = values.chain === undefined ? undefined : await followGovernance(values.chain, daemon, out)
  daemon.start()
  reporter.start()
  const served = metrics === undefined ? undefined : await serveMetrics(nodePrometheus(daemon, () => transport.handlerErrors), metrics)
  logPeers(transport, log)
  out(`node ${identity.id} (${backend.name}) listening on ${transport.multiaddrs().join(' ')}\n${served ? `  metrics ${served.url}\n` : ''}`)
  // In the background: the node answers rounds meanwhile; its verdicts weigh once it passed.
  const keeper = client === undefined || !calibrate ? undefined : new CalibrationKeeper({ identity, client, backend, now: Date.now }, (s) => out(`${calibrationLine(s)}\n`))
  void keeper?.start().then(() => network?.refresh())
  const glance = process.stderr.isTTY === true ? showStatusLine({ daemon, transport, identity: identity.id, network, client, healthy: () => health.healthy, idle: idleEnough, signal }) : undefined
  if (!signal.aborted) await once(signal, 'abort')
  glance?.()
  await keeper?.stop()
  watch?.stop()
  reporter.stop()
  health.stop()
  await daemon.stop()
  network?.stop()
  await served?.close()
  await transport.close()
  await factory.close()
  return 0
}

/** Reads the terms governance has in force on the chain now and every 10 s; the node holds Queries to them. */
async function followGovernance(chainFile: string, daemon: NodeDaemon, out: (s: string) => void): Promise<ParameterWatch> {
  const { governance } = await contracts(await readChainConfig(chainFile))
  const watch = new ParameterWatch(governance, {
    onChange: (params) => {
      daemon.govern({ ticket: params.ticketPrice, oldestRules: Number(params.oldestRules), judgeShareCapBp: Number(params.judgeShareCapPpm / 100n) })
      out(`governance: serving Queries with ticket ${params.ticketPrice || 'any'}, rules ${params.oldestRules || 'any'} or newer${params.judgeShareCapPpm > 0n ? ` capping a judge's share at ${Number(params.judgeShareCapPpm) / 10_000} %` : ''}\n`)
    },
    onError: (err) => process.stderr.write(`node: could not read the chain's parameters: ${err.message.split('\n')[0]}\n`),
  })
  await watch.refresh().catch((err: Error) => {
    throw new ConfigError(`cannot read the parameters on the chain in ${chainFile}: ${err.message.split('\n')[0]}`)
  })
  watch.start()
  return watch
}

/**
 * On a terminal: one status line on stderr, redrawn every second (the operator's balance read from
 * the ledger every 10 s); returns what clears it.
 */
function showStatusLine(c: {
  daemon: NodeDaemon
  transport: { node: { getConnections(): unknown[] } }
  identity: string
  network: CachedLedger | undefined
  client: HttpLedgerClient | undefined
  healthy: () => boolean
  idle: () => boolean
  signal: AbortSignal
}): () => void {
  let balance: string | undefined
  let reads = 0
  const draw = () => {
    if (c.client !== undefined && reads++ % 10 === 0) {
      void c.client
        .account(c.identity)
        .then(async (a) => (a?.operator ? await c.client!.account(a.operator) : a))
        .then((a) => (balance = a === undefined ? undefined : formatUnits(a.balance)))
        .catch(() => undefined)
    }
    const ended = [...c.daemon.ended.entries()]
    const done = c.daemon.ended.get('done') ?? 0
    const s = c.daemon.status('')
    const standing = c.network?.latest()
    const line = statusLine({
      peers: c.transport.node.getConnections().length,
      active: c.daemon.activeRounds,
      done,
      won: c.daemon.roundsWon,
      other: ended.reduce((n, [r, k]) => n + (r === 'done' ? 0 : k), 0),
      declined: Object.values(s.declined).reduce((a, b) => a + b, 0),
      ...(standing ? { judgeWeight: standing.judgeWeight(c.identity), reputationPpm: standing.reputationPpm?.(c.identity) ?? 0, rankedRounds: standing.answerRounds?.(c.identity) ?? 0 } : {}),
      ...(balance === undefined ? {} : { balance }),
      ...(!c.healthy() ? { paused: 'model unreachable' } : !c.idle() ? { paused: 'machine busy or quiet hours' } : {}),
    })
    process.stderr.write(`\r\x1b[2K${line}`)
  }
  const timer = setInterval(draw, 1_000)
  timer.unref()
  return () => {
    clearInterval(timer)
    process.stderr.write('\r\x1b[2K')
  }
}
