import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { hashParts } from '../../../src/crypto/hash.js'
import { identityFromSeed } from '../../../src/crypto/identity.js'
import { dashboardLedger } from '../../../src/gateway/dashboard/dashboardLedger.js'
import type { BatchHeader } from '../../../src/ledger/evm/batch.js'
import { proposalFile } from '../../../src/ledger/evm/proposal.js'
import type { BatchBody } from '../../../src/ledger/evm/faults.js'
import { HttpLedgerClient } from '../../../src/ledger/httpLedgerClient.js'
import { createLedgerServer } from '../../../src/ledger/ledgerServer.js'
import { SqliteLedger } from '../../../src/ledger/sqliteLedger.js'

/**
 * What the economics page reads from a served ledger: the newest log entries with the chain head,
 * and, where the ledger is anchored on a custody chain, the batches it posted there, newest first.
 */
const operator = identityFromSeed(Buffer.from(hashParts('dashboard-ledger-operator'), 'hex'))
const hex = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as const
const header = (index: number, logSeq: number): BatchHeader =>
  ({ index: BigInt(index), logSeq: BigInt(logSeq), logHead: hex(logSeq), prevStateRoot: hex(0), stateRoot: hex(1000 + index), roundsRoot: hex(0), deltasRoot: hex(0), depositsFrom: 0n, depositsThrough: 0n, burned: 7n, rounds: index * 3, beaconChain: 1, beaconIndex: 1n, beaconTip: hex(0), transcripts: '' }) as BatchHeader

describe('the dashboard’s view of a served ledger', () => {
  const ledger = SqliteLedger.open({ path: ':memory:', operator })
  const closers: (() => Promise<unknown>)[] = []
  afterAll(async () => {
    for (const c of closers) await c()
    ledger.close()
  })

  it('lists the newest entries with the head, and says when the ledger is not anchored', async () => {
    const app = createLedgerServer({ ledger })
    closers.push(() => app.close())
    const log = await dashboardLedger(new HttpLedgerClient(await app.listen({ host: '127.0.0.1', port: 0 })), 'here').log(5)
    expect(log!.head).toBe(ledger.head())
    expect(log!.entries[0]!.seq).toBe(log!.seq)
    expect(log!.entries.at(-1)!.kind).toBe('genesis')
    expect(log!.anchored).toBeNull()
  })

  it('lists the batches an anchored ledger posted, newest first, from what it publishes', async () => {
    const store = proposalFile(join(mkdtempSync(join(tmpdir(), 'chorus-anchored-')), 'batch-proposal.json'))
    for (const i of [1, 2, 10]) await store.publish({ header: header(i, i * 5), body: {} as BatchBody })
    const app = createLedgerServer({ ledger, proposals: { store, domain: { name: 'x', version: '1', chainId: 1, verifyingContract: '0x0000000000000000000000000000000000000001' }, isVerifier: async () => false } })
    closers.push(() => app.close())
    const log = await dashboardLedger(new HttpLedgerClient(await app.listen({ host: '127.0.0.1', port: 0 })), 'here').log(5)
    expect(log!.anchored!.map((b) => [b.index, b.log_seq, b.rounds, b.burned_micro])).toEqual([
      ['10', '50', 30, '7'],
      ['2', '10', 6, '7'],
      ['1', '5', 3, '7'],
    ])
    expect(log!.anchored![0]!.state_root).toBe(hex(1010))
  })
})
