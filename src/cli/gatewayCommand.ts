import { once } from 'node:events'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { CoordinatorService } from '../gateway/coordinatorService.js'
import { createGateway } from '../gateway/httpApi.js'
import { NetworkSwarm } from '../gateway/networkSwarm.js'
import { CalibrationMixer, DEFAULT_CALIBRATION_RATE } from '../gateway/calibrationMixer.js'
import { NodeDirectory } from '../gateway/nodeDirectory.js'
import { Paymaster } from '../gateway/paymaster.js'
import { ParameterWatch } from '../ledger/evm/parameterWatch.js'
import { contracts, readChainConfig } from './chainConfig.js'
import { SettlementOutbox } from '../gateway/settlementOutbox.js'
import { ledgerBeacons } from '../ledger/beaconRequest.js'
import { HttpLedgerClient } from '../ledger/httpLedgerClient.js'
import { CachedLedger, fixedLedger } from '../ledger/networkLedger.js'
import { genesisLedgerView } from '../round/ledgerView.js'
import { systemClock } from '../runtime/clock.js'
import { createLibp2pTransport } from '../transport/libp2p.js'
import { readJsonConfig } from './jsonConfig.js'
import { readKeyFile } from './keyFile.js'
import { workspaceFolder } from './workspaceLedger.js'
import { ConfigError } from './modelSpec.js'
import { gatewayPrometheus } from './prometheus.js'
import { createLogger, logPeers } from './logger.js'
import { API_OPTIONS, API_SETTINGS, gatewayOptionsOf, horizonWarning, listenProblem, NETWORK_OPTIONS, NETWORK_SETTINGS, phaseDurations, PRIVACY_HELP, readApiSettings } from './settings.js'

/**
 * `chorus gateway`: the OpenAI-compatible API coordinating rounds over the network. Same HTTP API
 * as `chorus up`; its swarm is the nodes subscribed to the query topic. Runs until `signal` aborts.
 */
export const GATEWAY_HELP = `chorus gateway --key <file> [options]

  --key <file>          the gateway's key file (it signs every round it coordinates), or
                        env:NAME to read the key seed from that environment variable
  --listen <multiaddr>  libp2p listen address (default /ip4/127.0.0.1/tcp/0); repeatable.
                        /p2p-circuit: be reachable through a relay among the bootstrap peers
                        (for a gateway nobody can dial)
  --bootstrap <addr>    a peer to connect to; repeatable
  --mdns                also find peers on the local network
  --relay               relay for hosts that cannot be dialled (circuit relay v2)
  --host <addr>         HTTP address (default 127.0.0.1)
  --port <n>            HTTP port (default 8420; 0 picks a free one)
  --cors <origin>       let browser pages from this origin call the API (repeatable; * for any)
  --log-level <level>   trace, debug, info (default), warn, error or silent: a line per request
                        and per round on stderr (JSON, or readable on a terminal)
  --api-key <key>       accept this Bearer key (repeatable; also CHORUS_API_KEYS=a,b)
  --rate <r>            requests per second per key, with --burst <b> (default 2r)
  --answer-seconds <s>  how long members may take to answer or judge (default 120, at most 3600)
  --max-rounds <n>      rounds run at once (default 4; nodes hold 8 per gateway by default)
  --ledger <url>        the network's ledger (chorus ledger serve): rounds name its head, judges
                        weigh by their record there, and every round settles there. This gateway
                        must be registered with a deposit (chorus ledger register --kind gateway;
                        chorus ledger stake). Without it: no ledger, nobody is paid
  --api-key KEY=ACCOUNT a client's key, charged to that ledger account (which must allow this
                        gateway), reading only its own rounds; a plain --api-key is the operator's
  --fee, --ticket, --price, --cut   each round's fee and ticket, the price per 1 000 tokens, the
                        gateway's share of each charge in percent (defaults 0.01, 0.0025, 0.002, 10)
  --chain <file>        the network's custody chain (a chain.json from chorus ledger deploy): the
                        parameters governance has in force there (ticketPrice) set the terms of
                        the rounds started after each change (read every 10 s)
  --outbox <file>       where settlements the ledger has not taken yet wait, across restarts
                        (default .chorus/outbox-<first 16 of the gateway id>.sqlite here)
  --retention-hours <h> forget a round's transcript (and its prompt) after this long
  --reports <dir>       the chorus eval reports (.md, .svg) the dashboard's quality page shows
${PRIVACY_HELP}
  --calibration-rate <r> hidden calibration rounds per request, 0 to 1 (default 0.05), where the
                        ledger requires calibration: known-answer questions run as ordinary rounds,
                        on which the ledger grades the judges
  --config <file>       JSON: key, listen, bootstrap, mdns, relay, host, port, apiKeys,
                        ratePerSecond, burst, answerSeconds, maxRounds, ledger, outbox, fee, ticket,
                        price, cut, retentionHours
  GET /metrics on the API port serves Prometheus metrics.
`

export async function gatewayCommand(args: string[], signal: AbortSignal, out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const { values } = parseArgs({ args, options: { ...NETWORK_OPTIONS, ...API_OPTIONS, outbox: { type: 'string' }, chain: { type: 'string' } } })
  const file = values.config === undefined ? {} : await readJsonConfig(values.config, { ...NETWORK_SETTINGS, ...API_SETTINGS, outbox: 'string' })
  const keyPath = values.key ?? (file.key as string | undefined)
  if (keyPath === undefined) throw new ConfigError('a gateway needs --key <file> (create one with: chorus keygen <file>)')
  const api = readApiSettings(values, file)
  if (values.chain !== undefined && (values.ledger ?? file.ledger) === undefined) throw new ConfigError("--chain needs --ledger (the chain's parameters set the terms of paid rounds)")
  const { identity, seed } = await readKeyFile(keyPath)
  const durations = phaseDurations(api.answerSeconds)
  const transport = await createLibp2pTransport({
    seed,
    listen: values.listen ?? (file.listen as string[] | undefined) ?? ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: values.bootstrap ?? (file.bootstrap as string[] | undefined) ?? [],
    mdns: values.mdns ?? (file.mdns as boolean | undefined) ?? false,
    relay: values.relay ?? (file.relay as boolean | undefined) ?? false,
  }).catch((err: Error) => {
    throw new ConfigError(`cannot start the network: ${err.message}`)
  })
  const onBug = (err: unknown) => process.stderr.write(`gateway: contained an internal error: ${(err as Error)?.stack ?? String(err)}\n`)
  const ledgerUrl = values.ledger ?? (file.ledger as string | undefined)
  const client = ledgerUrl === undefined ? undefined : new HttpLedgerClient(ledgerUrl)
  let network: CachedLedger | undefined
  let paymaster: Paymaster | undefined
  let outbox: SettlementOutbox | undefined
  let watch: ParameterWatch | undefined
  // Governance's calibration rate reaches the mixer, made once the swarm is.
  let setRate = (_rate: number): void => {}
  if (client !== undefined) {
    try {
      network = await CachedLedger.connect(client)
      outbox = await openOutbox(values.outbox ?? (file.outbox as string | undefined), identity.id)
    } catch (err) {
      await transport.close()
      if (err instanceof ConfigError) throw err
      throw new ConfigError(`cannot read the ledger at ${ledgerUrl}: ${(err as Error).message}`)
    }
    network.start()
    paymaster = new Paymaster({
      identity,
      ledger: network,
      client,
      outbox,
      ...(api.terms ? { terms: api.terms } : {}),
      ...(api.pricing ? { pricing: api.pricing } : {}),
      onError: (err) => process.stderr.write(`gateway: the ledger did not settle a round: ${(err as Error)?.message ?? String(err)}\n`),
    })
    if (values.chain !== undefined) watch = await watchGovernance(values.chain, paymaster, (rate) => setRate(rate), out)
    const owed = paymaster.resume()
    if (owed > 0) out(`note: sending the ledger ${owed} settlement${owed === 1 ? '' : 's'} an earlier run still owed\n`)
    if (network.latest().deposit(identity.id) === undefined) out(`note: this gateway is not registered on the ledger; rounds will fail until it is (chorus ledger register --kind gateway --key <its key> --ledger ${ledgerUrl})\n`)
  }
  const coordinator = new CoordinatorService(
    { identity, ledger: network ?? fixedLedger(genesisLedgerView()), durations },
    { transport, verification: 'auto', onBug, ...(paymaster && client ? { paymaster, beacons: ledgerBeacons(client, identity) } : {}) },
  )
  const directory = new NodeDirectory(transport, systemClock, { verification: 'auto' })
  coordinator.start()
  directory.start()
  const network_ = new NetworkSwarm({ coordinator, transport, directory, ...(network && client && paymaster ? { ledger: { network, client, paymaster } } : {}) })
  // With a ledger: hidden calibration rounds mixed into the traffic (off by itself where the ledger does not require calibration).
  const rate = api.calibrationRate ?? DEFAULT_CALIBRATION_RATE
  const mixer = client === undefined || rate === 0 ? undefined : new CalibrationMixer(network_, { identity, client, rate, onError: (err) => process.stderr.write(`gateway: a hidden calibration round was lost: ${(err as Error)?.message ?? String(err)}\n`) })
  if (mixer !== undefined) {
    setRate = (r) => mixer.setRate(r)
    const voted = watch?.current?.calibrationRatePpm
    if (voted !== undefined && voted > 0n && voted <= 1_000_000n) mixer.setRate(Number(voted) / 1e6)
  }
  const swarm = mixer ?? network_
  let queued = () => 0
  let running = () => 0
  const prom = gatewayPrometheus({
    rejections: () => swarm.rejections(),
    bugs: () => coordinator.intake.bugs + directory.intake.bugs + transport.handlerErrors,
    activeRounds: () => running(),
    queuedRounds: () => queued(),
    ...(paymaster ? { settlements: () => paymaster!.results, owed: () => paymaster!.owed } : {}),
  })
  const log = createLogger({ level: api.logLevel ?? 'info', name: 'gateway' })
  logPeers(transport, log)
  const gateway = createGateway({ swarm, ...gatewayOptionsOf(api, client ? { client, where: `at ${ledgerUrl}` } : undefined), metrics: prom.metrics, metricsPage: prom.page, log })
  running = () => gateway.admission.running
  queued = () => gateway.admission.waiting
  let address: string
  try {
    address = await gateway.app.listen({ host: api.host, port: api.port })
  } catch (err) {
    await coordinator.stop()
    network?.stop()
    await transport.close()
    const code = (err as { code?: string }).code
    throw new ConfigError(listenProblem(code, api.host, api.port, (err as Error).message))
  }
  out(`gateway ${identity.id}\n  api  ${address}/v1\n  p2p  ${transport.multiaddrs().join(' ')}\n  dashboard ${address}/\n${ledgerUrl ? `  ledger ${ledgerUrl}\n` : ''}`)
  const warning = horizonWarning(durations)
  if (warning !== undefined) out(`note: ${warning}\n`)
  if (!signal.aborted) await once(signal, 'abort')
  await gateway.app.close()
  await mixer?.stop()
  directory.stop()
  await coordinator.stop()
  watch?.stop()
  await paymaster?.drain()
  outbox?.close()
  network?.stop()
  await transport.close()
  return 0
}

/** The outbox file (default in the working directory's .chorus folder, made if needed). */
async function openOutbox(path: string | undefined, gatewayId: string): Promise<SettlementOutbox> {
  const file = path ?? join(await workspaceFolder(), `outbox-${gatewayId.slice(0, 16)}.sqlite`)
  try {
    return SettlementOutbox.open(file)
  } catch (err) {
    throw new ConfigError(`cannot open the settlement outbox ${file}: ${(err as Error).message}`)
  }
}

/**
 * Reads the parameters governance has in force on the chain now and every 10 s after; a ticket
 * price voted there replaces the gateway's own for the rounds it starts from then on.
 */
async function watchGovernance(chainFile: string, paymaster: Paymaster, setRate: (rate: number) => void, out: (s: string) => void): Promise<ParameterWatch> {
  const { governance } = await contracts(await readChainConfig(chainFile))
  const watch = new ParameterWatch(governance, {
    onChange: (params, changed) => {
      if (changed.includes('calibrationRatePpm') && params.calibrationRatePpm > 0n && params.calibrationRatePpm <= 1_000_000n) setRate(Number(params.calibrationRatePpm) / 1e6)
      if (!changed.includes('ticketPrice') || params.ticketPrice === 0n) return
      paymaster.setTerms({ ...paymaster.terms, ticket: params.ticketPrice })
      out(`governance: ticket price ${params.ticketPrice} micro-units for the rounds started from now\n`)
    },
    onError: (err) => process.stderr.write(`gateway: could not read the chain's parameters: ${err.message.split('\n')[0]}\n`),
  })
  await watch.refresh().catch((err: Error) => {
    throw new ConfigError(`cannot read the parameters on the chain in ${chainFile}: ${err.message.split('\n')[0]}`)
  })
  watch.start()
  return watch
}
