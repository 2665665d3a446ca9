import { parseArgs } from 'node:util'
import { CoordinatorService } from '../gateway/coordinatorService.js'
import { createGateway } from '../gateway/httpApi.js'
import { NetworkSwarm } from '../gateway/networkSwarm.js'
import { genesisLedgerView } from '../round/ledgerView.js'
import { createLibp2pTransport } from '../transport/libp2p.js'
import { readKeyFile } from './keyFile.js'
import { ConfigError } from './modelSpec.js'
import { readJsonConfig, type SettingTypes } from './jsonConfig.js'
import { NETWORK_OPTIONS, NETWORK_SETTINGS } from './networkOptions.js'

/**
 * `chorus gateway`: the OpenAI-compatible API coordinating rounds over the network. Same HTTP API
 * as `chorus up`; its swarm is the nodes subscribed to the query topic.
 */
export const GATEWAY_HELP = `chorus gateway --key <file> [options]

  --key <file>          the gateway's key file (it signs every round it coordinates)
  --listen <multiaddr>  libp2p listen address (default /ip4/127.0.0.1/tcp/0); repeatable.
                        /p2p-circuit: be reachable through a relay among the bootstrap peers
                        (for a gateway nobody can dial)
  --bootstrap <addr>    a peer to connect to; repeatable
  --mdns                also find peers on the local network
  --relay               relay for hosts that cannot be dialled (circuit relay v2)
  --host <addr>         HTTP address (default 127.0.0.1)
  --port <n>            HTTP port (default 8080; 0 picks a free one)
  --api-key <key>       accept this Bearer key (repeatable; also CHORUS_API_KEYS=a,b)
  --rate <r>            requests per second per key, with --burst <b>
  --answer-seconds <s>  how long members may take to answer or judge (default 120)
  --config <file>       JSON: key, listen, bootstrap, mdns, relay, host, port, apiKeys, ratePerSecond, burst, answerSeconds
`

const SETTINGS: SettingTypes = {
  ...NETWORK_SETTINGS,
  host: 'string',
  port: 'number',
  apiKeys: 'strings',
  ratePerSecond: 'number',
  burst: 'number',
  answerSeconds: 'number',
}

export async function gatewayCommand(args: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...NETWORK_OPTIONS,
      host: { type: 'string' },
      port: { type: 'string' },
      'api-key': { type: 'string', multiple: true },
      rate: { type: 'string' },
      burst: { type: 'string' },
      'answer-seconds': { type: 'string' },
    },
  })
  const file = values.config === undefined ? {} : await readJsonConfig(values.config, SETTINGS)
  const keyPath = values.key ?? (file.key as string | undefined)
  if (keyPath === undefined) throw new ConfigError('a gateway needs --key <file> (create one with: chorus keygen <file>)')
  const { identity, seed } = await readKeyFile(keyPath)
  const port = Number(values.port ?? file.port ?? 8080)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--port is out of range: ${values.port}`)
  const answerMs = Number(values['answer-seconds'] ?? file.answerSeconds ?? 120) * 1000
  if (!(answerMs > 0)) throw new ConfigError('--answer-seconds must be positive')
  const rate = values.rate ?? file.ratePerSecond
  const transport = await createLibp2pTransport({
    seed,
    listen: values.listen ?? (file.listen as string[] | undefined) ?? ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: values.bootstrap ?? (file.bootstrap as string[] | undefined) ?? [],
    mdns: values.mdns ?? (file.mdns as boolean | undefined) ?? false,
    relay: values.relay ?? (file.relay as boolean | undefined) ?? false,
  }).catch((err: Error) => {
    throw new ConfigError(`cannot start the network: ${err.message}`)
  })
  const coordinator = new CoordinatorService(
    { identity, ledger: genesisLedgerView(), durations: { join: 1000, commit: answerMs, reveal: 5000, verdictCommit: answerMs, verdictReveal: 5000 } },
    { transport, verification: 'auto' },
  )
  coordinator.start()
  const apiKeys = [...(values['api-key'] ?? []), ...((file.apiKeys as string[] | undefined) ?? []), ...(process.env.CHORUS_API_KEYS?.split(',') ?? [])].filter(Boolean)
  const gateway = createGateway({
    swarm: new NetworkSwarm({ coordinator, transport }),
    apiKeys,
    ...(rate === undefined ? {} : { rateLimit: { ratePerS: Number(rate), burst: Number(values.burst ?? file.burst ?? 2 * Number(rate)) } }),
  })
  const host = String(values.host ?? file.host ?? '127.0.0.1')
  let address: string
  try {
    address = await gateway.app.listen({ host, port })
  } catch (err) {
    await transport.close()
    const code = (err as { code?: string }).code
    throw new ConfigError(code === 'EADDRINUSE' ? `port ${port} on ${host} is in use (try --port 0)` : `cannot listen on ${host}:${port}: ${(err as Error).message}`)
  }
  out(`gateway ${identity.id}\n  api  ${address}/v1\n  p2p  ${transport.multiaddrs().join(' ')}\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  await gateway.app.close()
  await coordinator.stop()
  await transport.close()
  return 0
}
