import { afterAll, describe, expect, it } from 'vitest'
import { hashParts } from '../../src/crypto/hash.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { CoordinatorService } from '../../src/gateway/coordinatorService.js'
import { NetworkSwarm } from '../../src/gateway/networkSwarm.js'
import { InstantBackend } from '../../src/models/instant.js'
import { NodeDaemon } from '../../src/node/nodeDaemon.js'
import { fixedLedger } from '../../src/ledger/networkLedger.js'
import { genesisLedgerView } from '../../src/round/ledgerView.js'
import { verifyTranscript } from '../../src/round/verify.js'
import { createLibp2pTransport, type Libp2pTransport } from '../../src/transport/libp2p.js'
import { QUERY_TOPIC } from '../../src/protocol/limits.js'

const seed = (label: string) => Buffer.from(hashParts('relay-test', label), 'hex')
const ledger = genesisLedgerView()

async function until<T>(get: () => T | undefined, what: string, ms = 15_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = get()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('a gateway nobody can dial, reached through a circuit relay', () => {
  const transports: Libp2pTransport[] = []
  const closers: (() => Promise<void>)[] = []
  afterAll(async () => {
    for (const c of closers) await c()
    await Promise.all(transports.map((t) => t.close()))
  })

  it('takes a relay reservation, and nodes dialling its circuit address run verifiable rounds with it', async () => {
    const relay = await createLibp2pTransport({ seed: seed('relay'), relay: true })
    transports.push(relay)
    // The gateway listens on no socket of its own: only on a slot at the relay.
    const gw = await createLibp2pTransport({ seed: seed('gw'), listen: ['/p2p-circuit'], bootstrap: relay.multiaddrs() })
    transports.push(gw)
    const circuit = await until(() => {
      const a = gw.multiaddrs().filter((m) => m.includes('/p2p-circuit'))
      return a.length > 0 ? a : undefined
    }, 'a relay reservation')
    expect(gw.multiaddrs().every((m) => m.includes('/p2p-circuit'))).toBe(true)

    const coordinator = new CoordinatorService(
      { identity: identityFromSeed(seed("gw")), ledger: fixedLedger(ledger), durations: { join: 3000, commit: 3000, reveal: 3000, verdictCommit: 3000, verdictReveal: 3000 } },
      { transport: gw },
    )
    coordinator.start()
    closers.push(() => coordinator.stop())
    for (let i = 0; i < 3; i++) {
      const t = await createLibp2pTransport({ seed: seed(`n${i}`), bootstrap: circuit })
      transports.push(t)
      const id = identityFromSeed(seed(`n${i}`))
      const d = new NodeDaemon({ identity: id, backend: new InstantBackend(id.id), ledger: fixedLedger(ledger) }, { transport: t })
      d.start()
      closers.push(() => d.stop())
    }
    const swarm = new NetworkSwarm({ coordinator, transport: gw })
    await until(() => (gw.subscribers(QUERY_TOPIC).length >= 3 ? true : undefined), 'three nodes through the relay')
    // Every connection the gateway has to a node is relayed.
    const nodeConns = gw.node.getConnections().filter((c) => c.remotePeer.toString() !== relay.node.peerId.toString())
    expect(nodeConns.length).toBeGreaterThanOrEqual(3)
    expect(nodeConns.every((c) => c.remoteAddr.toString().includes('/p2p-circuit'))).toBe(true)

    for (let r = 0; r < 2; r++) {
      const res = await swarm.ask([{ role: 'user', content: `relayed ${r}` }], {})
      expect(res.outcome.ranked).toBe(true)
      expect(res.outcome.scores).toHaveLength(3)
      expect(verifyTranscript(res.transcript.map((m) => m.env), { ledger }).outcome.winner).toBe(res.outcome.winner)
    }
  }, 60_000)
})
