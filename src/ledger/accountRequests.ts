import type Database from 'better-sqlite3'
import { parseAmount } from './amount.js'
import { type AccountState, LedgerError } from './ledger.js'
import type { AccountRequest } from './requests.js'

/**
 * An account's own signed write on the SQLite ledger (requests.ts has its form and signature):
 * register, stake, unbond, withdraw, rotate a key, allow a gateway, release to a custody chain.
 * Runs inside the ledger's
 * transaction; a refusal throws and changes nothing.
 */
export interface AccountLedger {
  sql(text: string): Database.Statement
  accountOfKey(key: string): string | undefined
  account(id: string): AccountState | undefined
  mustAccount(id: string): void
  recordStanding(id: string, seq: number): void
  /** What of an account's stake rounds in flight hold (it cannot unbond). */
  committedStake(id: string): bigint
  unbondingMs: number
  /** Counts money that left the ledger for the custody chain (the supply check reads it). */
  addReleased(x: bigint): void
}

export function applyAccountRequest(l: AccountLedger, r: AccountRequest, seq: number, at: number): void {
  const b = r.body
  if (b.op === 'register') {
    if (l.sql('SELECT 1 FROM keys WHERE key = ?').get(r.key) !== undefined) throw new LedgerError('EXISTS', `the key ${r.key.slice(0, 8)}… already belongs to an account`)
    if (r.nonce !== 0) throw new LedgerError('BAD_NONCE', 'a registration has nonce 0')
    if (b.operator !== undefined) l.mustAccount(b.operator)
    l.sql('INSERT INTO accounts (id, kind, operator, balance, stake, unbonding, unbond_at, nonce, created) VALUES (?, ?, ?, 0, 0, 0, 0, 1, ?)').run(r.key, b.kind, b.operator ?? r.key, seq)
    l.sql('INSERT INTO keys (key, account, added) VALUES (?, ?, ?)').run(r.key, r.key, seq)
    l.recordStanding(r.key, seq)
    return
  }
  const id = l.accountOfKey(r.key)
  if (id === undefined) throw new LedgerError('UNKNOWN_ACCOUNT', `no account acts for the key ${r.key.slice(0, 8)}…`)
  const a = l.account(id)!
  if (r.nonce !== a.nonce) throw new LedgerError('BAD_NONCE', `expected nonce ${a.nonce}, got ${r.nonce}`)
  l.sql('UPDATE accounts SET nonce = nonce + 1 WHERE id = ?').run(id)
  switch (b.op) {
    case 'stake': {
      const x = parseAmount(b.amount)
      if (a.balance < x) throw new LedgerError('INSUFFICIENT_FUNDS', `balance ${a.balance} is below the ${x} to stake`)
      l.sql('UPDATE accounts SET balance = balance - ?, stake = stake + ? WHERE id = ?').run(x, x, id)
      l.recordStanding(id, seq)
      return
    }
    case 'unbond': {
      const x = parseAmount(b.amount)
      if (a.stake < x) throw new LedgerError('INSUFFICIENT_FUNDS', `stake ${a.stake} is below the ${x} to unbond`)
      // Stake that backs a round in flight (a node's locked tickets, a gateway's open fees) stays.
      const held = l.committedStake(id)
      if (a.stake - held < x) throw new LedgerError('INSUFFICIENT_FUNDS', `${held} of the stake backs rounds in flight; ${a.stake - held} can unbond now`)
      l.sql('UPDATE accounts SET stake = stake - ?, unbonding = unbonding + ?, unbond_at = ? WHERE id = ?').run(x, x, at + l.unbondingMs, id)
      l.recordStanding(id, seq)
      return
    }
    case 'withdraw':
      if (a.unbonding === 0n) throw new LedgerError('INSUFFICIENT_FUNDS', 'nothing is unbonding')
      if (at < a.unbondAt) throw new LedgerError('NOT_YET', `unbonded stake can be withdrawn from ${new Date(a.unbondAt).toISOString()}`)
      l.sql('UPDATE accounts SET balance = balance + unbonding, unbonding = 0 WHERE id = ?').run(id)
      return
    case 'rotate':
      if (l.sql('SELECT 1 FROM keys WHERE key = ?').get(b.newKey) !== undefined) throw new LedgerError('EXISTS', 'the new key is already in use')
      l.sql('UPDATE keys SET retired = ? WHERE key = ?').run(seq, r.key)
      l.sql('INSERT INTO keys (key, account, added) VALUES (?, ?, ?)').run(b.newKey, id, seq)
      return
    case 'release': {
      const x = parseAmount(b.amount)
      if (a.balance < x) throw new LedgerError('INSUFFICIENT_FUNDS', `the balance ${a.balance} is below ${x}`)
      l.sql('UPDATE accounts SET balance = balance - ?, released = released + ?, payout = ? WHERE id = ?').run(x, x, b.to, id)
      l.addReleased(x)
      return
    }
    case 'allow': {
      const gateway = l.accountOfKey(b.gateway)
      if (gateway === undefined || l.account(gateway)!.kind !== 'gateway') throw new LedgerError('NOT_A_GATEWAY', `${b.gateway.slice(0, 8)}… is not a registered gateway`)
      l.sql('INSERT OR REPLACE INTO allowances (client, gateway, amount) VALUES (?, ?, ?)').run(id, gateway, parseAmount(b.amount))
      return
    }
  }
}
