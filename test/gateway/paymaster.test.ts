import { describe, expect, it } from 'vitest'
import { createEmbeddedSwarm } from '../../src/cli/embeddedSwarm.js'
import { enrolSwarm } from '../../src/cli/workspaceLedger.js'
import { hashParts } from '../../src/crypto/hash.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { Paymaster } from '../../src/gateway/paymaster.js'
import { HttpLedgerClient } from '../../src/ledger/httpLedgerClient.js'
import { createLedgerServer } from '../../src/ledger/ledgerServer.js'
import { CachedLedger } from '../../src/ledger/networkLedger.js'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import { InstantBackend } from '../../src/models/instant.js'

const key = (label: string) => identityFromSeed(Buffer.from(hashParts('paymaster-test', label), 'hex'))

describe('the paymaster', () => {
  it('keeps a settlement through a served ledger’s restart, and gives up on it at shutdown, not before', async () => {
    const operator = key('operator')
    const gateway = key('gateway')
    const nodes = [0, 1, 2].map((i) => key(`node-${i}`))
    // A swarm without the ledger's beacons runs rules 1: this ledger still settles them.
    const ledger = SqliteLedger.open({ path: ':memory:', operator, rules: { oldestRules: 1 } })
    enrolSwarm(ledger, operator, gateway, nodes)
    let server = createLedgerServer({ ledger })
    const url = await server.listen({ host: '127.0.0.1', port: 0 })
    const port = Number(new URL(url).port)
    const client = new HttpLedgerClient(url, 1_000)
    const network = await CachedLedger.connect(client)
    const paymaster = new Paymaster({ identity: gateway, ledger: network, client, retryDelaysMs: [200, 400, 800, 1_600] })
    const swarm = createEmbeddedSwarm({ nodes: 3, backendFor: (id) => new InstantBackend(id.id), ledger: network, paymaster, identities: { coordinator: gateway, node: (i) => nodes[i]! }, durations: { join: 200, commit: 1_000, reveal: 1_000, verdictCommit: 1_000, verdictReveal: 1_000 } })
    try {
      const before = ledger.head()
      // The ledger goes away; the round still runs on the standing the swarm has, and its answer goes out.
      await server.close()
      const res = await swarm.ask('settle me later')
      await new Promise((r) => setTimeout(r, 300))
      expect(ledger.head()).toBe(before)
      server = createLedgerServer({ ledger })
      await server.listen({ host: '127.0.0.1', port })
      const receipt = await res.settlement
      expect(receipt?.round).toBe(res.roundId)
      expect(paymaster.results.get('settled')).toBe(1)
      // Gone again at shutdown: the retry gives up at once instead of holding the gateway open.
      await server.close()
      const next = await swarm.ask('never settled')
      const t0 = performance.now()
      await new Promise((r) => setTimeout(r, 50))
      await paymaster.drain()
      expect(performance.now() - t0).toBeLessThan(1_500)
      expect(await next.settlement).toBeUndefined()
      expect(paymaster.results.get('failed')).toBe(1)
    } finally {
      await swarm.stop()
      await server.close()
      ledger.close()
    }
  }, 30_000)
})
