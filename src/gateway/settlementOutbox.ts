import Database from 'better-sqlite3'
import { type Signed, openEnvelope } from '../protocol/envelope.js'
import { SignatureVerifier } from '../crypto/identity.js'
import type { Micro } from '../ledger/amount.js'
import { checkCharge } from '../ledger/charge.js'
import type { Charge } from '../ledger/ledger.js'

/**
 * The settlements a gateway owes its ledger, on disk from the moment a round ends until the ledger
 * has taken them. A gateway that crashes, or whose ledger is down for longer than it retries,
 * sends them when it next runs: a round it answered is always paid for and its members paid.
 * One SQLite file (WAL, full sync): a row is written before the round's answer leaves, and
 * removed when the ledger settled the round, refused it for good, or had it already.
 */
export interface OwedSettlement {
  round: string
  transcript: readonly Signed[]
  charge: Charge
  /** The round's fee, counted against the gateway's deposit until the round is settled. */
  fee: Micro
}

export class SettlementOutbox {
  private readonly insert: Database.Statement
  private readonly remover: Database.Statement
  private readonly counter: Database.Statement
  private readonly reader: Database.Statement

  private constructor(private readonly db: Database.Database) {
    this.insert = db.prepare('INSERT OR IGNORE INTO owed (round, transcript, charge, fee, at) VALUES (?, ?, ?, ?, ?)')
    this.remover = db.prepare('DELETE FROM owed WHERE round = ?')
    this.counter = db.prepare('SELECT COUNT(*) AS n FROM owed')
    this.reader = db.prepare('SELECT round, transcript, charge, fee FROM owed ORDER BY at, round')
  }

  static open(path: string): SettlementOutbox {
    const db = new Database(path)
    try {
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = FULL')
      db.exec('CREATE TABLE IF NOT EXISTS owed (round TEXT PRIMARY KEY, transcript TEXT NOT NULL, charge TEXT NOT NULL, fee TEXT NOT NULL, at INTEGER NOT NULL)')
    } catch (err) {
      db.close()
      throw err
    }
    return new SettlementOutbox(db)
  }

  /** Durable when it returns. A round already owed keeps its first entry. */
  put(owed: OwedSettlement, at: number): void {
    const transcript = `[${owed.transcript.map((m) => m.wire.toString('utf8')).join(',')}]`
    this.insert.run(owed.round, transcript, JSON.stringify(owed.charge), owed.fee.toString(), at)
  }

  /**
   * Not synced to disk by itself (the next `put` syncs it): a removal a power cut loses only sends
   * a settled round again, which the ledger answers ALREADY_SETTLED. Synced, it held the gateway's
   * event loop for about 1.5 ms in the middle of the next round.
   */
  remove(round: string): void {
    this.db.pragma('synchronous = NORMAL')
    try {
      this.remover.run(round)
    } finally {
      this.db.pragma('synchronous = FULL')
    }
  }

  get size(): number {
    return (this.counter.get() as { n: number }).n
  }

  /**
   * What is still owed, oldest first (up to `limit`). Each message is opened again as if it came off the wire
   * (the file is only this gateway's word); an entry that no longer opens is reported and dropped,
   * since no ledger would settle it. Rounds `skip` names (still being delivered) are passed over
   * before they are opened, and the batch fills with the next.
   */
  owed(limit = 1_000, onUnreadable?: (round: string, reason: string) => void, skip?: (round: string) => boolean): OwedSettlement[] {
    const verifier = new SignatureVerifier()
    const out: OwedSettlement[] = []
    const unreadable: string[] = []
    let opened = 0
    for (const r of this.reader.iterate() as Iterable<{ round: string; transcript: string; charge: string; fee: string }>) {
      // One still being delivered is not opened again (its signatures cost as much as a settlement's).
      if (skip?.(r.round)) continue
      // The batch bounds the work: every entry opened counts, readable or not.
      if (opened++ >= limit) break
      try {
        const transcript = (JSON.parse(r.transcript) as unknown[]).map((e) => openEnvelope(Buffer.from(JSON.stringify(e)), verifier))
        out.push({ round: r.round, transcript, charge: checkCharge(JSON.parse(r.charge)), fee: BigInt(r.fee) })
      } catch (err) {
        onUnreadable?.(r.round, (err as Error).message)
        unreadable.push(r.round)
      }
    }
    // Removed once the reading is over (SQLite does not take writes on a table it is iterating).
    for (const round of unreadable) this.remove(round)
    return out
  }

  close(): void {
    this.db.close()
  }
}
