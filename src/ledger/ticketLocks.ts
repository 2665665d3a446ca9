import type Database from 'better-sqlite3'
import type { Signed } from '../protocol/envelope.js'
import { MAX_JOINS } from '../protocol/limits.js'
import { rulesProblem } from '../protocol/rulesVersions.js'
import { packSeal } from '../protocol/seal.js'
import { joinSealHash } from '../round/beacons.js'
import { allowsOperator, meetsReputation } from '../round/ledgerView.js'
import { selectMembers } from '../round/rules.js'
import { parseAmount, type Micro } from './amount.js'
import { LedgerError } from './ledger.js'
import type { Standing } from './standing.js'
import { openJoin, openLockQuery } from './ticketLock.js'

/**
 * The SQLite ledger's ticket locks (rules 3, ticketLock.ts): the rounds whose joins are open
 * (`lock_rounds`, from a round's first lock until its members beacon closes them or time runs out)
 * and each joiner's locked ticket (`ticket_locks`, its Join as signed; amount 0 once released).
 * Runs inside the ledger's transactions; what it needs of the rest of the ledger comes in `LockLedger`.
 */
export interface LockLedger {
  sql(text: string): Database.Statement
  viewAt(head: string): Standing | undefined
  accountOfKey(key: string): string | undefined
  /** Throws NOT_A_GATEWAY unless the key acts for a registered gateway. */
  mustBeGateway(key: string): void
  /** Whether the round's members beacon was issued (its joins are closed for good). */
  closedByBeacon(round: string): boolean
  oldestRules(): number
}

export interface HeldLock {
  key: string
  hash: string
  envelope: string
  amount: bigint
}

type Row = Record<string, bigint | string | null>

export class TicketLocks {
  constructor(private readonly l: LockLedger) {}

  /** A round's locks, in key order (the order its Members seal lists them). */
  of(round: string): HeldLock[] {
    return this.l.sql('SELECT key, hash, envelope, amount FROM ticket_locks WHERE round = ? ORDER BY key').all(round) as never
  }

  /** The seq of the entry that locked this node's ticket for the round, if any. */
  lockedAt(round: string, key: string): number | undefined {
    const r = this.l.sql('SELECT seq FROM ticket_locks WHERE round = ? AND key = ?').get(round, key) as Row | undefined
    return r === undefined ? undefined : Number(r.seq)
  }

  /** Whether the round's joins are open here (some joiner locked, and nothing closed them yet). */
  isOpen(round: string): boolean {
    return this.l.sql('SELECT 1 FROM lock_rounds WHERE round = ?').get(round) !== undefined
  }

  /** What of an account's stake its locked tickets hold. */
  held(account: string): Micro {
    return (this.l.sql('SELECT COALESCE(SUM(amount), 0) AS x FROM ticket_locks WHERE account = ?').get(account) as Row).x as bigint
  }

  /** Rounds whose joins were open and not closed by `at` (their join deadline and the grace passed). */
  due(at: number, limit: number): { round: string; at: number }[] {
    return (this.l.sql('SELECT round, closes FROM lock_rounds WHERE closes <= ? ORDER BY closes, round LIMIT ?').all(at, limit) as Row[]).map((r) => ({ round: r.round as string, at: Number(r.closes) }))
  }

  /**
   * A joiner's lock: the round must be a live rules-3 round of a registered gateway whose joins are
   * open (the first lock carries its Query), the node eligible as the Query's head stood, and its
   * stake not yet locked by other rounds must cover the ticket. `opened`: the Join, already checked.
   */
  apply(b: { join?: unknown; query?: unknown }, seq: number, at: number, opened?: Signed<'Join'>): void {
    const join = opened ?? openJoin(b.join)
    const { round, from: key } = join.env
    let lr = this.l.sql('SELECT * FROM lock_rounds WHERE round = ?').get(round) as Row | undefined
    if (lr === undefined) {
      if (this.l.closedByBeacon(round)) throw new LedgerError('CLOSED', "the round's joins are closed: its coordinator took the members beacon")
      if (b.query === undefined) throw new LedgerError('CLOSED', "the round's joins are closed")
      const q = openLockQuery(b.query, join)
      const body = q.env.body
      const problem = rulesProblem(body.rules, { live: true, oldestLive: this.l.oldestRules() })
      if (problem !== undefined) throw new LedgerError('BAD_REQUEST', problem)
      this.l.mustBeGateway(q.env.from)
      // A free ticket would let a node hold seats it does not answer for, in as many rounds as it likes.
      if (parseAmount(body.ticket) === 0n) throw new LedgerError('BAD_REQUEST', 'a round whose joiners lock tickets asks a ticket above 0')
      if (this.l.viewAt(body.ledgerHead) === undefined) throw new LedgerError('UNKNOWN_HEAD', 'the round names a ledger head this ledger never had')
      this.l
        .sql('INSERT INTO lock_rounds (round, gateway, ticket, join_deadline, closes, head, min_reputation, max_members, operators) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(round, this.l.accountOfKey(q.env.from), parseAmount(body.ticket), body.deadlines.join, body.deadlines.join + body.rules.sealGraceMs, body.ledgerHead, body.minReputation, body.maxMembers, body.operators === undefined ? null : JSON.stringify(body.operators))
      lr = this.l.sql('SELECT * FROM lock_rounds WHERE round = ?').get(round) as Row
    }
    if (at > Number(lr.join_deadline)) throw new LedgerError('CLOSED', `the round's join deadline passed ${at - Number(lr.join_deadline)} ms ago`)
    const ticket = lr.ticket as bigint
    if (parseAmount(join.env.body.ticket) !== ticket) throw new LedgerError('BAD_REQUEST', `the Join's ticket ${join.env.body.ticket} is not the round's ${ticket}`)
    const view = this.l.viewAt(lr.head as string)!
    const account = this.l.accountOfKey(key)
    if (account === undefined || !view.eligible(key)) throw new LedgerError('INELIGIBLE', `${key.slice(0, 8)}… was not an eligible node at the round's ledger head`)
    if (!meetsReputation(view, key, Number(lr.min_reputation))) throw new LedgerError('INELIGIBLE', `${key.slice(0, 8)}… is below the round's minimum reputation`)
    // A round restricted to named operators: another operator's node cannot lock its way into the joiner set.
    if (!allowsOperator(view, key, lr.operators === null ? undefined : (JSON.parse(lr.operators as string) as string[]))) throw new LedgerError('INELIGIBLE', `${key.slice(0, 8)}… belongs to an operator the round does not allow`)
    if (this.lockedAt(round, key) !== undefined) throw new LedgerError('EXISTS', 'this Join is locked already')
    const n = Number((this.l.sql('SELECT COUNT(*) AS n FROM ticket_locks WHERE round = ?').get(round) as Row).n)
    if (n >= MAX_JOINS) throw new LedgerError('CLOSED', `the round holds ${MAX_JOINS} joiners already`)
    const stake = (this.l.sql('SELECT stake FROM accounts WHERE id = ?').get(account) as Row).stake as bigint
    const held = this.held(account)
    if (stake - held < ticket) throw new LedgerError('INSUFFICIENT_FUNDS', `the node's free stake ${stake - held} does not cover the ticket ${ticket}`)
    this.l.sql('INSERT INTO ticket_locks (round, key, account, hash, envelope, amount, seq) VALUES (?, ?, ?, ?, ?, ?, ?)').run(round, key, account, join.hash, join.wire.toString('utf8'), ticket, seq)
  }

  /**
   * What a members beacon for the round must follow: the hash of the sealed set of its locks. Throws
   * unless its joins are open and at least `minMembers` locked.
   */
  sealToClose(round: string, minMembers: number): { seal: string; joins: number } {
    if (!this.isOpen(round)) throw new LedgerError('CLOSED', 'no joiner locked a ticket for this round before its joins closed')
    const locks = this.of(round)
    if (locks.length < minMembers) throw new LedgerError('BAD_REQUEST', `${locks.length} joiner(s) locked a ticket; the round needs ${minMembers}`)
    return { seal: lockSeal(round, locks), joins: locks.length }
  }

  /**
   * The members beacon closes the round's joins. Its seal must be this ledger's joiner set; the
   * tickets of joiners the beacon does not seat unlock here.
   */
  close(round: string, seal: string, joins: number, beacon: string): void {
    const lr = this.l.sql('SELECT max_members FROM lock_rounds WHERE round = ?').get(round) as Row | undefined
    const locks = this.of(round)
    if (lr === undefined || locks.length !== joins || lockSeal(round, locks) !== seal) throw new LedgerError('CORRUPT', "a members beacon that does not follow the round's ticket locks")
    const seated = new Set(selectMembers(round, locks.map((l) => l.key), Number(lr.max_members), beacon))
    for (const l of locks) if (!seated.has(l.key)) this.l.sql('UPDATE ticket_locks SET amount = 0 WHERE round = ? AND key = ?').run(round, l.key)
    this.l.sql('DELETE FROM lock_rounds WHERE round = ?').run(round)
  }

  /**
   * A round whose joiners locked tickets but whose coordinator never closed the joins in time (no
   * members beacon by the join deadline and the grace): the tickets unlock; no fee was ever owed.
   */
  expireUnclosed(round: string, at: number): void {
    const lr = this.l.sql('SELECT closes FROM lock_rounds WHERE round = ?').get(round) as Row | undefined
    if (lr === undefined) throw new LedgerError('CORRUPT', `round ${round.slice(0, 16)}… is not open`)
    if (at < Number(lr.closes)) throw new LedgerError('CORRUPT', `round ${round.slice(0, 16)}… expired early`)
    this.release(round)
    this.l.sql('DELETE FROM lock_rounds WHERE round = ?').run(round)
  }

  /** Every lock of a round that settled or expired. */
  release(round: string): void {
    this.l.sql('DELETE FROM ticket_locks WHERE round = ?').run(round)
  }
}

/** The hash a rules-3 members beacon follows: the sealed set of the round's ticket locks. */
function lockSeal(round: string, locks: readonly { key: string; hash: string }[]): string {
  return joinSealHash(round, packSeal(locks.map((l) => ({ from: l.key, hash: l.hash }))))
}
