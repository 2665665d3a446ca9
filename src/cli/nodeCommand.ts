import { parseArgs } from 'node:util'
import { NodeDaemon } from '../node/nodeDaemon.js'
import { BackendHealth } from '../node/backendHealth.js'
import { genesisLedgerView } from '../round/ledgerView.js'
import { createLibp2pTransport } from '../transport/libp2p.js'
import { readJsonConfig, type SettingTypes } from './jsonConfig.js'
import { NETWORK_OPTIONS, NETWORK_SETTINGS } from './networkOptions.js'
import { readKeyFile } from './keyFile.js'
import { BackendFactory, ConfigError, parseModelSpec, tinyModels, TINY_ANSWER_TOKENS } from './modelSpec.js'

/**
 * `chorus node`: one node process on the network. Composition root: key file → identity and libp2p
 * host; model spec → backend (health-checked: while it is down the node stays out of rounds);
 * bootstrap peers and mdns → the network.
 */
export const NODE_HELP = `chorus node --key <file> [options]

  --key <file>          the node's key file (create one with: chorus keygen <file>)
  --listen <multiaddr>  where to listen (default /ip4/127.0.0.1/tcp/0); repeatable. Behind NAT
                        nothing else is needed: a node dials its gateway, and rounds use that link
  --bootstrap <addr>    a peer to connect to, e.g. a gateway's /ip4/…/tcp/…/p2p/… (or its
                        relayed …/p2p-circuit/p2p/… address); repeatable
  --mdns                also find peers on the local network
  --relay               relay for hosts that cannot be dialled (circuit relay v2)
  --model <spec>        .gguf file, ollama:<model>, openai:<url>#<model> (default: a tiny
                        generated model, meaningless), or test:instant (protocol tests only)
  --capacity <n>        rounds worked on at once (default 2)
  --domains <a,b>       only join rounds tagged with one of these domains (default: all)
  --config <file>       JSON with the same settings: key, listen, bootstrap, mdns, relay, model, capacity, domains
`

const SETTINGS: SettingTypes = {
  ...NETWORK_SETTINGS,
  model: 'string',
  capacity: 'number',
  domains: 'string',
}

export async function nodeCommand(args: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...NETWORK_OPTIONS,
      model: { type: 'string' },
      capacity: { type: 'string' },
      domains: { type: 'string' },
    },
  })
  const file = values.config === undefined ? {} : await readJsonConfig(values.config, SETTINGS)
  const keyPath = values.key ?? (file.key as string | undefined)
  if (keyPath === undefined) throw new ConfigError('a node needs --key <file> (create one with: chorus keygen <file>)')
  const { identity, seed } = await readKeyFile(keyPath)
  const capacity = Number(values.capacity ?? file.capacity ?? 2)
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 64) throw new ConfigError('--capacity must be a whole number from 1 to 64')
  const domainsRaw = values.domains ?? (file.domains as string | undefined)
  const domains = domainsRaw === undefined ? undefined : new Set(String(domainsRaw).split(',').map((d) => d.trim()).filter(Boolean))
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
  const health = new BackendHealth(backend, (ok, error) =>
    out(ok ? `model ${backend.name} is back; taking rounds again\n` : `model ${backend.name} is unreachable (${error}); staying out of rounds until it recovers\n`),
  )
  await health.start()
  if (!health.healthy) out(`model ${backend.name} is unreachable (${health.lastError}); staying out of rounds until it recovers\n`)
  const daemon = new NodeDaemon(
    {
      identity,
      backend,
      ledger: genesisLedgerView(),
      maxConcurrentRounds: capacity,
      wantsRound: (q) => health.healthy && (domains === undefined || q.domains.length === 0 || q.domains.some((d) => domains.has(d))),
    },
    { transport, verification: 'auto' },
  )
  daemon.start()
  out(`node ${identity.id} (${backend.name}) listening on ${transport.multiaddrs().join(' ')}\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  health.stop()
  await daemon.stop()
  await transport.close()
  await factory.close()
  return 0
}
