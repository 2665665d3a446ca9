import { hashParts } from '../src/crypto/hash.js'
import { identityFromSeed } from '../src/crypto/identity.js'
import { CoordinatorService } from '../src/gateway/coordinatorService.js'
import { NetworkSwarm } from '../src/gateway/networkSwarm.js'
import { InstantBackend } from '../src/models/instant.js'
import { NodeDaemon } from '../src/node/nodeDaemon.js'
import { fixedLedger } from '../src/ledger/networkLedger.js'
import { genesisLedgerView } from '../src/round/ledgerView.js'
import { createLibp2pTransport } from '../src/transport/libp2p.js'
import { type Figure, median, quantile } from './stats.js'

/**
 * Rounds over real libp2p connections on loopback (TCP, noise, yamux, gossipsub) with instant
 * backends. Every node is its own libp2p host, but the hosts share this one process (and its two
 * cores): the in-process figures, `round_libp2p_inproc_N_*`.
 */
export const figures = ['round_libp2p_inproc_7_p50_ms', 'round_libp2p_inproc_7_p99_ms', 'round_libp2p_inproc_25_p50_ms', 'round_libp2p_100_p50_ms']

async function measure(n: number, rounds: number): Promise<number[]> {
  const ledger = genesisLedgerView()
  const seed = (l: string) => Buffer.from(hashParts('bench-libp2p', String(n), l), 'hex')
  const coordT = await createLibp2pTransport({ seed: seed('coord') })
  const boot = coordT.multiaddrs()
  const nodes: { t: Awaited<ReturnType<typeof createLibp2pTransport>>; d: NodeDaemon }[] = []
  for (let i = 0; i < n; i++) {
    const t = await createLibp2pTransport({ seed: seed(`n${i}`), bootstrap: boot })
    const id = identityFromSeed(seed(`n${i}`))
    const d = new NodeDaemon({ identity: id, backend: new InstantBackend(id.id), ledger: fixedLedger(ledger) }, { transport: t })
    d.start()
    nodes.push({ t, d })
  }
  const coordinator = new CoordinatorService({ identity: identityFromSeed(seed('coord')), ledger: fixedLedger(ledger) }, { transport: coordT })
  coordinator.start()
  const swarm = new NetworkSwarm({ coordinator, transport: coordT, maxMembers: n })
  const end = Date.now() + 60_000
  while ((await swarm.nodes()).length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
  if ((await swarm.nodes()).length < n) throw new Error(`only ${(await swarm.nodes()).length} of ${n} nodes connected`)
  const times: number[] = []
  try {
    for (let r = 0; r < rounds + 5; r++) {
      const t0 = performance.now()
      const res = await swarm.ask([{ role: 'user', content: `bench ${r}` }], {})
      if (res.outcome.scores.length !== n) throw new Error(`round had ${res.outcome.scores.length} of ${n} answers`)
      if (r >= 5) times.push(performance.now() - t0)
    }
  } finally {
    await coordinator.stop()
    for (const x of nodes) await x.d.stop()
    await Promise.all([coordT, ...nodes.map((x) => x.t)].map((t) => t.close()))
  }
  return times
}

export async function run(): Promise<Figure[]> {
  const t7 = await measure(7, 60)
  const t25 = await measure(25, 15)
  // 100 node processes do not fit this machine; 100 libp2p hosts in this process, still over real
  // TCP/noise/yamux connections, do.
  const t100 = await measure(100, 8)
  return [
    { name: 'round_libp2p_inproc_7_p50_ms', value: median(t7), unit: 'ms' },
    { name: 'round_libp2p_inproc_7_p99_ms', value: quantile(t7, 0.99), unit: 'ms' },
    { name: 'round_libp2p_inproc_25_p50_ms', value: median(t25), unit: 'ms' },
    { name: 'round_libp2p_100_p50_ms', value: median(t100), unit: 'ms' },
  ]
}
