import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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

const seed = (label: string) => Buffer.from(hashParts('net-test', label), 'hex')
const ledger = genesisLedgerView()

describe('rounds over real libp2p connections (7 nodes, one process)', () => {
  let coordT: Libp2pTransport
  const nodeTs: Libp2pTransport[] = []
  const daemons: NodeDaemon[] = []
  let coordinator: CoordinatorService
  let swarm: NetworkSwarm
  beforeAll(async () => {
    coordT = await createLibp2pTransport({ seed: seed('coord') })
    const boot = coordT.multiaddrs()
    for (let i = 0; i < 7; i++) {
      const t = await createLibp2pTransport({ seed: seed(`n${i}`), bootstrap: boot })
      const id = identityFromSeed(seed(`n${i}`))
      const d = new NodeDaemon({ identity: id, backend: new InstantBackend(id.id), ledger: fixedLedger(ledger) }, { transport: t })
      d.start()
      nodeTs.push(t)
      daemons.push(d)
    }
    coordinator = new CoordinatorService({ identity: identityFromSeed(seed('coord')), ledger: fixedLedger(ledger), durations: { join: 3000, commit: 3000, reveal: 3000, verdictCommit: 3000, verdictReveal: 3000 } }, { transport: coordT })
    coordinator.start()
    swarm = new NetworkSwarm({ coordinator, transport: coordT })
    const end = Date.now() + 10_000
    while ((await swarm.nodes()).length < 7 && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
  }, 30_000)
  afterAll(async () => {
    await coordinator.stop()
    for (const d of daemons) await d.stop()
    await Promise.all([coordT, ...nodeTs].map((t) => t.close()))
  })

  it('finds all nodes and completes verifiable ranked rounds', async () => {
    expect(await swarm.nodes()).toHaveLength(7)
    for (let r = 0; r < 3; r++) {
      const res = await swarm.ask([{ role: 'user', content: `over the wire ${r}` }], {})
      expect(res.outcome.ranked).toBe(true)
      expect(res.outcome.scores).toHaveLength(7)
      const v = verifyTranscript(res.transcript.map((m) => m.env), { ledger })
      expect(v.outcome.winner).toBe(res.outcome.winner)
    }
  })
})
