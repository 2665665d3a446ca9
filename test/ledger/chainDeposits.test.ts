import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { hashParts } from '../../src/crypto/hash.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { signRequest } from '../../src/ledger/requests.js'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import { verifyLedger } from '../../src/ledger/verifyLedger.js'
import { ident } from '../round/harness.js'
import { GATE_OFF } from './compliance.js'
import { ledgerCode } from './judges.js'

/** A custody chain's deposits in the ledger: each credited once, in the chain's numbering. */
const operator = identityFromSeed(Buffer.from(hashParts('deposit-operator'), 'hex'))

describe('deposits from a custody chain', () => {
  it('credits each once and in order; a stranger’s deposit opens a client account; the log replays', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-deposits-'))
    const path = join(dir, 'ledger.sqlite')
    try {
      const ledger = SqliteLedger.open({ path, operator, rules: GATE_OFF })
      const node = ident('depositor')
      ledger.submit(signRequest(node, 0, { op: 'register', kind: 'node' }))
      ledger.creditDeposit({ index: 1, account: node.id, amount: 5_000n })
      const head = ledger.head()
      // Again, skipping ahead, or nothing at all: refused, nothing changes.
      expect(ledgerCode(() => ledger.creditDeposit({ index: 1, account: node.id, amount: 5_000n }))).toBe('BAD_REQUEST')
      expect(ledgerCode(() => ledger.creditDeposit({ index: 3, account: node.id, amount: 5_000n }))).toBe('BAD_REQUEST')
      expect(ledgerCode(() => ledger.creditDeposit({ index: 2, account: node.id, amount: 0n }))).toBe('BAD_REQUEST')
      expect(ledger.head()).toBe(head)
      const stranger = ident('stranger').id
      ledger.creditDeposit({ index: 2, account: stranger, amount: 7n })
      expect(ledger.account(node.id)!.balance).toBe(5_000n)
      expect(ledger.account(stranger)).toMatchObject({ kind: 'client', balance: 7n })
      expect(ledger.chain.credited()).toBe(2)
      expect(ledger.chain.depositsBetween(1, 2)).toEqual([{ index: 2, account: stranger, amount: 7n }])
      expect(ledger.supply()).toMatchObject({ held: 5_007n, created: 5_007n })
      ledger.close()
      expect(await verifyLedger(path)).toMatchObject({ entries: 4 })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
