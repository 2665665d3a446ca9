import type Database from 'better-sqlite3'
import { canonicalJson } from '../crypto/canonical.js'
import { isLowerHex } from '../crypto/hex.js'
import { type Micro, parseAmount } from './amount.js'
import { LedgerError } from './ledger.js'
import type { Reputation } from './reputation.js'

/**
 * What the ledger keeps for a custody chain (ledger/evm): the chain's deposits, credited once each
 * and in the chain's numbering (a `deposit` entry), and the reads a batch is built from — every
 * account's money, and the rounds settled in a stretch of the log. A deposit to an account id the
 * ledger does not know opens a client account for that key (money on the chain is never refused).
 */
export interface ChainDeposit {
  /** The chain's number for it: 1, 2, 3… */
  index: number
  account: string
  amount: Micro
}

export interface ChainDepositLedger {
  sql(text: string): Database.Statement
  meta(key: string): string | undefined
  setMeta(key: string, value: string): void
  addBalance(id: string, amount: Micro): void
  recordStanding(id: string, seq: number): void
  reputation(id: string): Reputation
}

/** An account's leaf as the state root holds it. */
export interface Holding {
  account: string
  /** Balance + stake + unbonding, micro-units. */
  held: Micro
  /** Released to the custody chain so far (cumulative), and the EVM address it pays. */
  released: Micro
  payout: string | undefined
  /** The canonical JSON of its reputation (the state root commits to its hash). */
  reputation: string
}

/** A round's entry that moved money: its settlement, or its expiry (the fee burned). */
export interface RoundEntry {
  round: string
  /** The transcript's Merkle root (SHA-256); none for an expiry. */
  root: string | undefined
  seq: number
  /** The entry's hash in the log. */
  entry: string
  /** What the entry changed in each account's claim (held + released), by account id. */
  changes: { account: string; delta: Micro }[]
}

type Row = Record<string, bigint | string | null>

export function depositBody(d: ChainDeposit): Record<string, unknown> {
  return { index: d.index, account: d.account, amount: d.amount.toString() }
}

export class ChainDeposits {
  constructor(private readonly l: ChainDepositLedger) {}

  /** How many of the chain's deposits the ledger has credited. */
  credited(): number {
    return Number(this.l.meta('chain_deposits') ?? '0')
  }

  /** The chain's deposits numbered from < i <= through, as credited. */
  depositsBetween(from: number, through: number): ChainDeposit[] {
    const out: ChainDeposit[] = []
    for (const r of this.l.sql("SELECT body FROM log WHERE kind = 'deposit'").all() as Row[]) {
      const b = JSON.parse(r.body as string) as { index: number; account: string; amount: string }
      if (b.index > from && b.index <= through) out.push({ index: b.index, account: b.account, amount: BigInt(b.amount) })
    }
    return out
  }

  apply(body: Record<string, unknown>, seq: number): void {
    const { index, account } = body
    if (!Number.isSafeInteger(index) || index !== this.credited() + 1) throw new LedgerError('BAD_REQUEST', `the chain's deposit ${String(index)} is not the next (${this.credited() + 1})`)
    if (typeof account !== 'string' || !isLowerHex(account, 64)) throw new LedgerError('BAD_REQUEST', 'a deposit names a 64-hex account')
    const amount = parseAmount(String(body.amount))
    if (amount <= 0n) throw new LedgerError('BAD_REQUEST', 'a deposit is a positive amount')
    if (this.l.sql('SELECT 1 FROM accounts WHERE id = ?').get(account) === undefined) {
      this.l.sql("INSERT INTO accounts (id, kind, operator, balance, stake, unbonding, unbond_at, nonce, created) VALUES (?, 'client', ?, 0, 0, 0, 0, 0, ?)").run(account, account, seq)
      this.l.sql('INSERT INTO keys (key, account, added) VALUES (?, ?, ?)').run(account, account, seq)
      this.l.recordStanding(account, seq)
    }
    this.l.addBalance(account, amount)
    this.l.setMeta('created', (BigInt(this.l.meta('created') ?? '0') + amount).toString())
    this.l.setMeta('chain_deposits', String(index))
  }

  /** Every account's money and reputation, by account id. */
  holdings(): Holding[] {
    return (this.l.sql('SELECT id, balance + stake + unbonding AS held, released, payout FROM accounts ORDER BY id').all() as Row[]).map((r) => ({
      account: r.id as string,
      held: r.held as bigint,
      released: r.released as bigint,
      payout: (r.payout as string | null) ?? undefined,
      reputation: canonicalJson(this.l.reputation(r.id as string)),
    }))
  }

  /** The rounds settled or expired by entries fromSeq < seq <= toSeq, in the log's order. */
  roundEntriesBetween(fromSeq: number, toSeq: number): RoundEntry[] {
    const rows = this.l
      .sql(
        `SELECT round, root, seq FROM rounds WHERE seq > ? AND seq <= ?
         UNION ALL SELECT round, NULL AS root, seq FROM expired_rounds WHERE seq > ? AND seq <= ? ORDER BY seq`,
      )
      .all(fromSeq, toSeq, fromSeq, toSeq) as Row[]
    return rows.map((r) => ({
      round: r.round as string,
      root: (r.root as string | null) ?? undefined,
      seq: Number(r.seq),
      entry: (this.l.sql('SELECT hash FROM log WHERE seq = ?').get(r.seq) as Row).hash as string,
      changes: (this.l.sql('SELECT account, delta FROM entry_deltas WHERE seq = ? ORDER BY account').all(r.seq) as Row[]).map((d) => ({ account: d.account as string, delta: d.delta as bigint })),
    }))
  }

  /** The newest beacon of the ledger's current chain (index 0: the chain's published tip), if any. */
  beaconLast(): { chain: number; index: number; value: string } | undefined {
    const chain = this.l.meta('beacon_chain')
    if (chain === undefined) return undefined
    return { chain: Number(chain), index: Number(this.l.meta('beacon_index')), value: this.l.meta('beacon_last')! }
  }
}
