import { describe, expect, it } from 'vitest'
import { createEmbeddedSwarm } from '../../src/cli/embeddedSwarm.js'
import { hashParts } from '../../src/crypto/hash.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { Paymaster } from '../../src/gateway/paymaster.js'
import { LocalLedgerClient } from '../../src/ledger/localClient.js'
import { CachedLedger } from '../../src/ledger/networkLedger.js'
import { signRequest } from '../../src/ledger/requests.js'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import type { CallOptions } from '../../src/models/backend.js'
import { InstantBackend } from '../../src/models/instant.js'
import type { ChatMessage } from '../../src/protocol/messages.js'

const key = (label: string) => identityFromSeed(Buffer.from(hashParts('fee-hold', label), 'hex'))

/** Never answers in time. */
class MuteBackend extends InstantBackend {
  override async answer(_messages: readonly ChatMessage[], options: CallOptions = {}): Promise<string> {
    await new Promise((r) => setTimeout(r, 5_000).unref())
    options.signal?.throwIfAborted()
    return 'too late'
  }
}

describe('a round the ledger opened and that then failed', () => {
  it('keeps its fee promised against the deposit: the ledger will take it when the round expires', async () => {
    const operator = key('operator')
    const gateway = key('gateway')
    const nodes = [0, 1, 2].map((i) => key(`node-${i}`))
    const ledger = SqliteLedger.open({ path: ':memory:', operator })
    ledger.submit(signRequest(gateway, 0, { op: 'register', kind: 'gateway' }))
    ledger.credit(gateway.id, 10_000n)
    // A deposit of exactly one round's fee.
    ledger.submit(signRequest(gateway, 1, { op: 'stake', amount: '10000' }))
    for (const n of nodes) {
      ledger.submit(signRequest(n, 0, { op: 'register', kind: 'node' }))
      ledger.credit(n.id, 1_000_000n)
      ledger.submit(signRequest(n, 1, { op: 'stake', amount: '1000000' }))
    }
    const client = new LocalLedgerClient(ledger)
    const network = await CachedLedger.connect(client)
    const paymaster = new Paymaster({ identity: gateway, ledger: network, client, terms: { fee: 10_000n, ticket: 10_000n } })
    const swarm = createEmbeddedSwarm({
      nodes: 3,
      backendFor: (id) => new MuteBackend(id.id),
      ledger: network,
      paymaster,
      client,
      identities: { coordinator: gateway, node: (i) => nodes[i]! },
      durations: { join: 150, commit: 300, reveal: 300, verdictCommit: 300, verdictReveal: 300 },
    })
    try {
      await expect(swarm.ask('nobody answers')).rejects.toMatchObject({ code: 'NO_ANSWERS' })
      // The members beacon opened the round on the ledger; its fee is still owed.
      expect(ledger.entries(1, 1_000).filter((e) => e.kind === 'beacon')).toHaveLength(1)
      expect(() => paymaster.open()).toThrow(expect.objectContaining({ code: 'NO_DEPOSIT' }))
    } finally {
      await swarm.stop()
      ledger.close()
    }
  }, 20_000)
})
