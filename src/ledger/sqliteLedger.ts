import Database from 'better-sqlite3'
import { canonicalJson } from '../crypto/canonical.js'
import type { BeaconPhase } from '../round/beacons.js'
import { LOCKED_JOIN_RULES } from '../protocol/rulesVersions.js'
import { checkLockRequest, openJoin, type TicketLock } from './ticketLock.js'
import { TicketLocks } from './ticketLocks.js'
import { type CalibrationResult, type Challenge, checkCalibrationAnswer, checkCalibrationAsk } from './calibration.js'
import { type CalibrationItem, CalibrationPool, calibrationSeed } from './calibrationPool.js'
import { Calibrations, type SettledRound } from './calibrations.js'
import { checkHiddenAsk, checkHiddenReveal, type HiddenItem } from './hiddenRounds.js'
import { sealHas } from '../protocol/seal.js'
import { StandingQueries } from './sqliteStanding.js'
import { BeaconTable } from './sqliteBeacons.js'
import { type ChainDeposit, ChainDeposits, depositBody } from './chainDeposits.js'
import { type BeaconIssue, checkBeaconRequest } from './beaconRequest.js'
import { type Identity, PublicKeyCache } from '../crypto/identity.js'
import type { Signed } from '../protocol/envelope.js'
import type { QueryBody } from '../protocol/messages.js'
import { openEncoded, TranscriptError, type VerifiedRound, verifyOpened } from '../round/verify.js'
import { questionText } from '../round/rules.js'
import { encodeTranscript, PreparedTranscript } from './preparedTranscript.js'
import { EnvelopeOpenerPool } from '../protocol/openerPool.js'
import { WalSync } from './walSync.js'
import { type Micro, parseAmount } from './amount.js'
import { type AccountKind, type AccountState, type Charge, type Ledger, LedgerError, type LedgerRules, type LogEntry, type PendingSettlement, type SettlementReceipt } from './ledger.js'
import { entryProblem, LOG_ROOT, signEntry } from './logEntry.js'
import { type AccountRequest, checkRequest } from './requests.js'
import { applyAccountRequest } from './accountRequests.js'
import { newReputation, type Reputation, updateReputation } from './reputation.js'
import { migrate, SCHEMA_VERSION } from './schema.js'
import { chargeSignedBy, checkCharge } from './charge.js'
import { settle } from './settlement.js'
import { changedRules, DEFAULT_LEDGER_RULES, rulesJson, rulesOf } from './ledgerRules.js'
import { type Standing, type StandingSnapshot, standingOf } from './standing.js'

/** The most due rounds one write expires before itself. */
export const MAX_EXPIRIES_PER_WRITE = 64

export interface SqliteLedgerInit {
  /** A file path, or ':memory:'. */
  path: string
  operator: Identity
  /** Rules written into the genesis entry of a new ledger (an existing ledger keeps its own). */
  rules?: Partial<LedgerRules>
  /** The ledger's clock (ms); entries never go back in time. */
  now?: () => number
  /** The operator's own known-answer items, mixed into the generated calibration pool. */
  calibrationItems?: readonly CalibrationItem[]
}

type Row = Record<string, bigint | string | null>
/** A settlement's envelopes as canonical JSON, and (when prepared) opened with their signatures checked. */
type Preverified = { encoded: readonly string[]; opened?: readonly Signed[] }
type Body = Record<string, unknown>

/**
 * The embedded ledger: one SQLite file (WAL, full sync), one writer. Every change is one
 * transaction that mutates the state tables and appends its signed log entry together, so a crash
 * leaves either both or neither. The same `apply` runs a live write and the replay of a stored
 * entry (`replayInto`), so `chorus ledger verify` rebuilds the state with exactly the code that
 * made it. Money is bigint micro-units; after every change the ledger checks that it created or
 * destroyed none (only the operator's faucet creates any).
 */
export class SqliteLedger implements Ledger {
  private readonly db: Database.Database
  private readonly now: () => number
  private lastSeq = 0
  private lastAt = 0
  private lastHash = LOG_ROOT
  private ledgerRules: LedgerRules = DEFAULT_LEDGER_RULES
  private readonly views = new Map<string, Standing>()
  private readonly statements = new Map<string, Database.Statement>()
  /** Keys parsed once for every transcript this ledger verifies. */
  private readonly keys = new PublicKeyCache()
  /** Worker threads that check transcripts' signatures ahead of the writer (started on first use). */
  private opener: EnvelopeOpenerPool | undefined
  /** Syncs the WAL off the event loop (absent for a database in memory). */
  private readonly wal: WalSync | undefined
  /** What the last settlement paid (settle returns it). */
  private settled: SettlementReceipt | undefined
  /** Set while due rounds are being expired (their entries are appends too). */
  private expiring = false
  /** Rules 3: the tickets joiners locked, and the rounds whose joins are open. */
  private readonly locks: TicketLocks
  /** Proof of capability: the challenges nodes have open, and their grading. */
  private readonly calibrations: Calibrations
  /** The writer's private item pool (its seed derives from the operator's key; built on first use). */
  private pool: CalibrationPool | undefined
  /** What the last graded challenge gave (answerCalibration returns it). */
  private graded: CalibrationResult | undefined
  /** How many judges the last hidden round's reveal graded. */
  private hiddenGraded = 0
  private readonly standings: StandingQueries
  /** The beacons issued to rounds, and the chain they come from. */
  private readonly beacons: BeaconTable
  /** A custody chain's deposits, and the reads its batches are built from (ledger/evm). */
  readonly chain: ChainDeposits

  private constructor(
    db: Database.Database,
    private readonly operator: Identity | undefined,
    now: () => number,
    private readonly calibrationItems: readonly CalibrationItem[] = [],
  ) {
    this.db = db
    this.now = now
    this.wal = db.memory || db.readonly ? undefined : new WalSync(`${db.name}-wal`)
    this.standings = new StandingQueries((text) => this.sql(text), () => this.ledgerRules)
    this.locks = new TicketLocks({
      sql: (text) => this.sql(text),
      viewAt: (head) => this.viewAt(head),
      accountOfKey: (key) => this.accountOfKey(key),
      mustBeGateway: (key) => this.mustBeGateway(key),
      closedByBeacon: (round) => this.beaconOf(round, 'members') !== undefined,
      oldestRules: () => this.ledgerRules.oldestRules,
    })
    this.beacons = new BeaconTable({
      sql: (text) => this.sql(text),
      meta: (key) => this.meta(key),
      setMeta: (key, value) => this.setMeta(key, value),
      operator: () => this.operator,
      rules: () => this.ledgerRules,
      accountOfKey: (key) => this.accountOfKey(key),
      mustBeGateway: (key) => this.mustBeGateway(key),
      locks: this.locks,
    })
    this.chain = new ChainDeposits({
      sql: (text) => this.sql(text),
      meta: (key) => this.meta(key),
      setMeta: (key, value) => this.setMeta(key, value),
      addBalance: (id, amount) => this.addBalance(id, amount),
      recordStanding: (id, seq) => this.recordStanding(id, seq),
      reputation: (id) => this.reputation(id),
    })
    this.calibrations = new Calibrations({
      sql: (text) => this.sql(text),
      rules: () => this.ledgerRules.calibration,
      accountOfKey: (key) => this.accountOfKey(key),
      isStakedNode: (id) => {
        const a = this.sql('SELECT kind, stake FROM accounts WHERE id = ?').get(id) as Row | undefined
        return a?.kind === 'node' && (a.stake as bigint) >= this.ledgerRules.minStake
      },
      reputation: (id) => this.reputation(id),
      saveReputation: (id, r) => this.saveReputation(id, r),
      recordStanding: (id, seq) => this.recordStanding(id, seq),
      meta: (key) => this.meta(key),
      setMeta: (key, value) => this.setMeta(key, value),
      isGateway: (id) => (this.sql('SELECT kind FROM accounts WHERE id = ?').get(id) as Row | undefined)?.kind === 'gateway',
      settledRound: (round) => this.settledRound(round),
    })
  }

  /** Opens (creating and migrating if needed) a ledger file whose operator is `init.operator`. */
  static open(init: SqliteLedgerInit): SqliteLedger {
    const db = openDatabase(init.path)
    const ledger = new SqliteLedger(db, init.operator, init.now ?? Date.now, init.calibrationItems)
    try {
      ledger.load()
      if (ledger.lastSeq === 0) ledger.append('genesis', { operator: init.operator.id, rules: rulesJson({ ...DEFAULT_LEDGER_RULES, ...init.rules }) })
      else if (ledger.genesisOperator() !== init.operator.id) throw new LedgerError('CORRUPT', `this ledger's operator is ${ledger.genesisOperator()}, not the key given`)
    } catch (err) {
      db.close()
      throw err
    }
    return ledger
  }

  /** A ledger that applies stored entries only (no operator key): what replay rebuilds into. */
  static forReplay(): SqliteLedger {
    return new SqliteLedger(openDatabase(':memory:'), undefined, () => 0)
  }

  /** An existing ledger file opened to read (verify, show, export): it takes no writes. */
  static readOnly(path: string): SqliteLedger {
    const db = new Database(path, { readonly: true, fileMustExist: true })
    db.defaultSafeIntegers(true)
    const version = db.pragma('user_version', { simple: true }) as bigint
    if (Number(version) !== SCHEMA_VERSION) {
      db.close()
      throw new LedgerError('CORRUPT', `${path} has schema version ${version}; this Chorus reads ${SCHEMA_VERSION} (open it once with a writer to migrate)`)
    }
    const ledger = new SqliteLedger(db, undefined, () => 0)
    ledger.load()
    return ledger
  }

  /** The key that signs this ledger's entries (from its genesis). */
  operatorId(): string | undefined {
    return this.genesisOperator()
  }

  head(): string {
    return this.lastHash
  }

  /** The newest entry's number. */
  headSeq(): number {
    return this.lastSeq
  }

  rules(): LedgerRules {
    return this.ledgerRules
  }

  viewAt(head: string): Standing | undefined {
    let view = this.views.get(head)
    if (view !== undefined) return view
    const snapshot = this.snapshotAt(head)
    if (snapshot === undefined) return undefined
    view = standingOf(snapshot)
    if (this.views.size >= 64) this.views.delete(this.views.keys().next().value as string)
    this.views.set(head, view)
    return view
  }

  /**
   * Everyone with standing at a head: nodes eligible then (a live key, a node account, at least the
   * minimum stake) with their judge weight and reputation, and registered gateways with their
   * deposit. What `ledger serve` hands to the network, once per head.
   */
  snapshotAt(head: string): StandingSnapshot | undefined {
    return this.standings.at(head)
  }

  /** The standing at `head` as changes from the standing at an earlier `base` (sqliteStanding.ts). */
  standingSince(base: string, head: string): StandingSnapshot | undefined {
    return this.standings.since(base, head)
  }

  /** What a client has allowed a gateway to charge it, still unspent. */
  allowance(client: string, gateway: string): Micro {
    const r = this.sql('SELECT amount FROM allowances WHERE client = ? AND gateway = ?').get(client, gateway) as Row | undefined
    return r === undefined ? 0n : (r.amount as bigint)
  }

  account(id: string): AccountState | undefined {
    const a = this.sql('SELECT * FROM accounts WHERE id = ?').get(id) as Row | undefined
    if (a === undefined) return undefined
    const keys = (this.sql('SELECT key FROM keys WHERE account = ? AND retired IS NULL ORDER BY key').all(id) as Row[]).map((k) => k.key as string)
    return {
      id,
      kind: a.kind as AccountKind,
      operator: a.operator as string,
      balance: a.balance as bigint,
      stake: a.stake as bigint,
      unbonding: a.unbonding as bigint,
      unbondAt: Number(a.unbond_at),
      keys,
      nonce: Number(a.nonce),
      reputation: this.reputation(id),
    }
  }

  accountOfKey(key: string): string | undefined {
    const r = this.sql('SELECT account FROM keys WHERE key = ? AND retired IS NULL').get(key) as Row | undefined
    return r?.account as string | undefined
  }

  submit(request: AccountRequest): LogEntry {
    return this.append('request', { request: checkRequest(request) })
  }

  /**
   * Parameters governance put in force on the custody chain (ledger/evm), for the rounds settled
   * from here on (a `govern` entry): the answerers' share of each pool, the minimum stake (heads
   * before keep theirs), and the oldest rules version still settled (raised only).
   */
  govern(params: { answererShareBp?: number; oldestRules?: number; minStake?: string }): LogEntry {
    return this.append('govern', params)
  }

  /** The operator's word that rounds by rules older than `version` no longer settle (a `retire-rules` entry). */
  retireRules(version: number): LogEntry {
    return this.append('retire-rules', { oldestRules: version })
  }

  /** A deposit the custody chain took (ledger/evm), credited in the chain's order, once. */
  creditDeposit(deposit: ChainDeposit): LogEntry {
    return this.append('deposit', depositBody(deposit))
  }

  credit(account: string, amount: Micro): LogEntry {
    if (amount <= 0n) throw new LedgerError('BAD_REQUEST', 'credit a positive amount')
    return this.append('credit', { account, amount: amount.toString() })
  }

  settle(given: readonly unknown[] | PreparedTranscript, charge?: Charge): SettlementReceipt {
    const prepared = given instanceof PreparedTranscript ? given : undefined
    const transcript = prepared?.envelopes ?? given
    if (!Array.isArray(transcript)) throw new LedgerError('INVALID_TRANSCRIPT', 'a transcript is a list of envelopes')
    if (charge !== undefined) checkCharge(charge)
    // Each envelope is encoded once: the verification reads it, and the log entry is made of it.
    const encoded = prepared?.encoded ?? encodeTranscript(transcript)
    const body = charge === undefined ? { transcript } : { charge, transcript }
    const text = `{${charge === undefined ? '' : `"charge":${canonicalJson(charge)},`}"transcript":[${encoded.join(',')}]}`
    this.append('settle', body, text, { encoded, ...(prepared ? { opened: prepared.opened } : {}) })
    return this.settled!
  }

  /**
   * Settlements that arrived together, in one transaction (one sync to disk), each its own entry
   * within its own savepoint: one that is refused changes nothing and the others hold.
   */
  settleAll(settlements: readonly PendingSettlement[]): (SettlementReceipt | LedgerError)[] {
    try {
      return this.db.transaction(() =>
        settlements.map(({ transcript, charge }) => {
          try {
            return this.settle(transcript, charge)
          } catch (err) {
            if (err instanceof LedgerError) return err
            throw err
          }
        }),
      )()
    } catch (err) {
      // Nothing of the write reached the disk: the head goes back to what it holds.
      this.load()
      throw err
    }
  }

  beacon(raw: unknown): BeaconIssue {
    const { request, coordinator, query } = checkBeaconRequest(raw)
    const issued = this.beaconOf(request.round, request.phase)
    if (issued !== undefined) return issued
    this.mustBeGateway(coordinator)
    // Rules 3 on: the members follow the joiners whose tickets this ledger locked, whatever the
    // coordinator sealed; asking closes the joins (the entry's `joins` says how many it holds).
    let seal = request.seal
    let locked: { joins: number } | Record<string, never> = {}
    if (request.phase === 'members' && query.rules.version >= LOCKED_JOIN_RULES) {
      this.expireDue(Math.max(this.now(), this.lastAt))
      if (request.joins !== undefined) this.lockCarried(request.round, request.joins, query, request.query)
      const closing = this.locks.sealToClose(request.round, query.minMembers)
      seal = closing.seal
      locked = { joins: closing.joins }
    }
    const chain = this.beacons.nextChain()
    if (chain !== undefined) this.append('beacon-chain', chain)
    this.append('beacon', { ...this.beacons.next(request, coordinator, query, seal), ...locked })
    return this.beaconOf(request.round, request.phase)!
  }

  beaconOf(round: string, phase: BeaconPhase): BeaconIssue | undefined {
    return this.beacons.of(round, phase)
  }

  calibrationChallenge(raw: unknown): Challenge {
    const at = Math.max(this.now(), this.lastAt)
    const ask = checkCalibrationAsk(raw, at)
    const open = this.calibrations.current(ask.key, at, this.itemPool())
    if (open !== undefined) return open
    this.append('challenge', this.calibrations.next(ask.key, this.itemPool()))
    return this.calibrations.current(ask.key, this.lastAt, this.itemPool())!
  }

  answerCalibration(raw: unknown): CalibrationResult {
    const answer = checkCalibrationAnswer(raw)
    this.append('calibration', this.calibrations.grading(answer, Math.max(this.now(), this.lastAt), this.itemPool()))
    return this.graded!
  }

  /** A hidden calibration round's question, for a gateway (hiddenRounds.ts); its answer stays here, committed in the log. */
  hiddenItem(raw: unknown): HiddenItem {
    const ask = checkHiddenAsk(raw, Math.max(this.now(), this.lastAt))
    const e = this.append('hidden-item', this.calibrations.nextHidden(ask, this.itemPool()))
    return this.calibrations.hiddenQuestion(e.seq, this.itemPool())
  }

  /** A gateway's word that a settled round asked one of its hidden items: the item is revealed and the round's judges graded. */
  revealHiddenRound(raw: unknown): { graded: number } {
    const reveal = checkHiddenReveal(raw)
    this.append('hidden-grade', this.calibrations.hiddenGrading(reveal, this.itemPool()))
    return { graded: this.hiddenGraded }
  }

  /** A settled round read back from its settlement entry, verified again (hidden rounds are few). */
  private settledRound(round: string): SettledRound | undefined {
    const r = this.sql('SELECT seq FROM rounds WHERE round = ?').get(round) as Row | undefined
    if (r === undefined) return undefined
    const transcript = (JSON.parse((this.sql('SELECT body FROM log WHERE seq = ?').get(r.seq) as Row).body as string) as { transcript: unknown[] }).transcript
    const encoded = encodeTranscript(transcript)
    const opened = openEncoded(encoded, this.keys)
    const { v } = this.verifyRound(transcript, { encoded, opened })
    const seal = opened.find((m) => m.env.type === 'RevealsSealed') as Signed<'RevealsSealed'> | undefined
    const answers = new Map<string, string>()
    for (const m of opened) {
      if (m.env.type === 'AnswerReveal' && seal !== undefined && sealHas(seal.env.body.reveals, m.env.from, m.hash)) answers.set(m.env.from, (m as Signed<'AnswerReveal'>).env.body.answer)
    }
    return { coordinator: v.coordinator, question: questionText({ messages: v.prompt }), answers, verdicts: v.verdicts }
  }

  private itemPool(): CalibrationPool {
    this.pool ??= new CalibrationPool(calibrationSeed(this.operator!), this.calibrationItems)
    return this.pool
  }

  lockTicket(raw: unknown): TicketLock {
    const [result] = this.lockTickets([raw])
    if (result instanceof LedgerError) throw result
    return result!
  }

  /**
   * Many joiners' locks in one log entry (one transaction, one sync to disk): each is tried on its
   * own, and the entry holds those that held; a refused one gets its error and changes nothing.
   * The members of a round lock at about the same moment, so a ledger that gathers the locks that
   * arrive together (WriteGatherer) writes a round's joins once instead of once per member.
   */
  lockTickets(raws: readonly unknown[]): (TicketLock | LedgerError)[] {
    const operator = this.operator
    if (operator === undefined) throw new LedgerError('CORRUPT', 'a replaying ledger takes no writes')
    if (this.lastSeq > 0) this.expireDue(Math.max(this.now(), this.lastAt))
    const results: (TicketLock | LedgerError)[] = new Array(raws.length)
    // Locks move no money: their writers do not wait for `synced()`; the members beacon that
    // closes a round's joins does, and the sync that covers it covers every lock it names (WAL
    // keeps order, so a power cut loses at most the newest locks, never a later entry).
    this.writeLocks(raws, results, operator)
    return results
  }

  /**
   * The Joins a coordinator carried with its members beacon request (beaconRequest.ts): each this
   * round's and not locked yet is locked as its node's own lock would be, in one entry; one the
   * ledger refuses (its stake short, say) is simply not locked, and its node not seated. A lock
   * already taken is not checked again: the ledger seats the Join it recorded.
   *
   * A coordinator carries only Joins it checked itself, so the signature checks are bounded: only
   * the first Join per node, of this round, from a node eligible at the round's head, not locked
   * yet, is checked at all (the rest are looked up, never verified), and one of those that does not
   * open refuses the whole request before anything is written. A gateway cannot make the ledger
   * check thousands of made-up signatures per request.
   */
  private lockCarried(round: string, joins: readonly unknown[], query: QueryBody, rawQuery: unknown): void {
    const view = this.viewAt(query.ledgerHead)
    if (view === undefined) return
    // Each node is looked at once, whatever the request repeats: its first Join of this round.
    const first = new Map<string, unknown>()
    for (const j of joins) {
      const { round: r, from } = j as { round?: unknown; from?: unknown }
      if (r === round && typeof from === 'string' && !first.has(from)) first.set(from, j)
    }
    const fresh = [...first].filter(([from, j]) => view.eligible(from) && this.lockNamed(j) === undefined).map(([, j]) => j)
    const opened = fresh.map((j) => openJoin(j))
    if (opened.length > 0) this.writeLocks(opened.map((join) => ({ query: rawQuery, join: join.env })), new Array(opened.length), this.operator!, opened)
  }

  /**
   * The lock already taken for the round and node a Join names, read before anything is checked:
   * a node's own lock that its coordinator's request took first (or one asked twice) costs no
   * signature check, and answering it changes nothing and tells nothing the log does not.
   */
  private lockNamed(join: unknown): TicketLock | undefined {
    const { round, from } = (join ?? {}) as { round?: unknown; from?: unknown }
    if (typeof round !== 'string' || typeof from !== 'string') return undefined
    const seq = this.locks.lockedAt(round, from)
    return seq === undefined ? undefined : { round, node: from, seq }
  }

  /** `opened`: the requests' Joins, checked already (carried ones). */
  private writeLocks(raws: readonly unknown[], results: (TicketLock | LedgerError)[], operator: Identity, opened?: readonly Signed<'Join'>[]): void {
    this.db.transaction(() => {
      const seq = this.lastSeq + 1
      const at = Math.max(this.now(), this.lastAt)
      const locks: Body[] = []
      raws.forEach((raw, i) => {
        try {
          const taken = this.lockNamed((raw as { join?: unknown } | null)?.join)
          if (taken !== undefined) return void (results[i] = taken)
          const checked = opened?.[i]
          const { join, query } = checked === undefined ? checkLockRequest(raw) : { join: checked, query: (raw as { query: unknown }).query }
          const round = join.env.round
          const node = join.env.from
          // The Query travels in the log once per round: with its first lock.
          const lock = this.locks.isOpen(round) ? { join: join.env } : { join: join.env, query }
          this.db.transaction(() => this.locks.apply(lock, seq, at, join))()
          locks.push(lock)
          results[i] = { round, node, seq }
        } catch (err) {
          if (!(err instanceof LedgerError)) throw err
          results[i] = err
        }
      })
      if (locks.length > 0) this.insert(signEntry(operator, { seq, at, kind: 'locks', body: canonicalJson({ locks }), prev: this.lastHash }))
    })()
  }

  private mustBeGateway(key: string): void {
    const id = this.accountOfKey(key)
    const kind = id === undefined ? undefined : (this.sql('SELECT kind FROM accounts WHERE id = ?').get(id) as Row).kind
    if (kind !== 'gateway') throw new LedgerError('NOT_A_GATEWAY', `${key.slice(0, 8)}… is not a registered gateway`)
  }

  prepare(transcript: readonly unknown[]): Promise<PreparedTranscript> {
    this.opener ??= new EnvelopeOpenerPool()
    return PreparedTranscript.prepare(transcript, this.opener)
  }

  entries(fromSeq: number, limit: number): LogEntry[] {
    return (this.sql('SELECT * FROM log WHERE seq >= ? ORDER BY seq LIMIT ?').all(fromSeq, limit) as Row[]).map(entryOf)
  }

  /**
   * Money held in accounts (the running total the triggers keep; `counted` sums every account
   * again) and what the faucet has created: all three equal, or the ledger is broken.
   */
  supply(): { held: Micro; created: Micro; destroyed: Micro; released: Micro } {
    const h = this.sql('SELECT held FROM totals').get() as Row
    return { held: h.held as bigint, created: BigInt(this.meta('created') ?? '0'), destroyed: BigInt(this.meta('destroyed') ?? '0'), released: BigInt(this.meta('released') ?? '0') }
  }

  /** Every account's money summed afresh (verify compares it with the running total). */
  counted(): Micro {
    return (this.sql('SELECT COALESCE(SUM(balance + stake + unbonding), 0) AS s FROM accounts').get() as Row).s as bigint
  }

  /** A digest of every state table: two ledgers with the same history have the same digest. */
  stateDigest(): string {
    // Not `entry_deltas`: a file migrated to it has no rows for the entries before, and what a
    // batch commits of it, every verifier rebuilds from the log itself.
    const tables = ['accounts', 'keys', 'reputation', 'standing', 'rounds', 'allowances', 'beacons', 'open_rounds', 'expired_rounds', 'ticket_locks', 'lock_rounds', 'challenges', 'hidden_items', 'min_stakes', 'totals', 'meta']
    const parts = tables.map((t) => canonicalJson((this.sql(`SELECT * FROM ${t} ORDER BY 1, 2`).all() as Row[]).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v])))))
    return parts.join('\n')
  }

  /**
   * Applies an entry read from another ledger's log, checking it follows this one's head. A
   * settlement entry may come with its transcript `prepare`d (signatures checked ahead); it must be
   * that entry's own transcript.
   */
  replay(e: LogEntry, operator: string, prepared?: PreparedTranscript): void {
    const problem = entryProblem(e, this.lastHash, this.lastSeq + 1, operator)
    if (problem !== undefined) throw new LedgerError('CORRUPT', problem)
    if (e.at < this.lastAt) throw new LedgerError('CORRUPT', `entry ${e.seq} goes back in time`)
    this.db.transaction(() => {
      this.apply(e.kind, JSON.parse(e.body) as Body, e.seq, e.at, prepared === undefined ? undefined : { encoded: prepared.encoded, opened: prepared.opened })
      this.insert(e)
    })()
  }

  /** Copies the live database to `path` with SQLite's online backup (writers may go on). */
  async backup(path: string): Promise<void> {
    await this.db.backup(path)
  }

  synced(): Promise<void> {
    return this.wal?.synced() ?? Promise.resolve()
  }

  close(): void {
    this.wal?.close()
    this.db.close()
    // Its threads hold no state worth waiting for; idle, they no longer keep the process alive.
    void this.opener?.close()
    this.opener = undefined
  }

  get isOpen(): boolean {
    return this.db.open
  }

  /** A prepared statement, prepared once (preparing costs more than running most of these). */
  private sql(text: string): Database.Statement {
    let st = this.statements.get(text)
    if (st === undefined) {
      st = this.db.prepare(text)
      this.statements.set(text, st)
    }
    return st
  }

  // ——— writing ———

  /** `encodedBody` is canonicalJson(body) when the caller has it already; `pre` its transcript's envelopes, encoded (and opened). */
  private append(kind: string, body: Body, encodedBody?: string, pre?: Preverified): LogEntry {
    if (this.operator === undefined) throw new LedgerError('CORRUPT', 'a replaying ledger takes no writes')
    const operator = this.operator
    // The ledger has no timer: rounds whose time ran out expire before the next entry is written.
    if (this.lastSeq > 0) this.expireDue(Math.max(this.now(), this.lastAt))
    return this.db.transaction(() => {
      const seq = this.lastSeq + 1
      const at = Math.max(this.now(), this.lastAt)
      this.apply(kind, body, seq, at, pre)
      const entry = signEntry(operator, { seq, at, kind, body: encodedBody ?? canonicalJson(body), prev: this.lastHash })
      this.insert(entry)
      return entry
    })()
  }

  private insert(e: LogEntry): void {
    this.sql('INSERT INTO log (seq, at, kind, body, prev, hash, sig) VALUES (?, ?, ?, ?, ?, ?, ?)').run(e.seq, e.at, e.kind, e.body, e.prev, e.hash, e.sig)
    this.lastSeq = e.seq
    this.lastAt = e.at
    this.lastHash = e.hash
  }

  /** The state change an entry makes; throws LedgerError (and the transaction rolls back) if it may not. */
  private apply(kind: string, body: Body, seq: number, at: number, pre?: Preverified): void {
    const before = this.supply()
    // The triggers that record each account's change file it under this entry.
    this.sql('UPDATE applying SET seq = ?').run(seq)
    switch (kind) {
      case 'genesis':
        if (seq !== 1) throw new LedgerError('CORRUPT', 'genesis after the first entry')
        this.ledgerRules = rulesOf(body.rules as Body)
        this.setMeta('operator', String(body.operator))
        this.setMeta('rules', canonicalJson(body.rules))
        this.setMeta('created', '0')
        break
      case 'retire-rules':
      case 'govern': {
        // The operator retires older rules for pay, or the ledger follows governance on its custody chain.
        const before = this.ledgerRules.minStake
        this.ledgerRules = changedRules(this.ledgerRules, kind, body)
        this.setMeta('rules', canonicalJson(rulesJson(this.ledgerRules)))
        if (this.ledgerRules.minStake !== before) this.standings.minStakeChanged(before, this.ledgerRules.minStake, seq)
        break
      }
      case 'credit': {
        const amount = parseAmount(String(body.amount))
        this.mustAccount(String(body.account))
        this.addBalance(String(body.account), amount)
        this.setMeta('created', (BigInt(this.meta('created') ?? '0') + amount).toString())
        break
      }
      case 'deposit':
        this.chain.apply(body, seq)
        break
      case 'request':
        this.applyRequest(checkRequest(body.request), seq, at)
        break
      case 'settle':
        this.applySettlement(body.transcript as unknown[], body.charge === undefined ? undefined : checkCharge(body.charge), seq, at, pre)
        break
      case 'beacon-chain':
        this.beacons.applyChain(body)
        break
      case 'beacon':
        this.beacons.apply(body, seq)
        break
      case 'expire':
        this.applyExpiry(String(body.round), seq, at)
        break
      case 'challenge':
        this.calibrations.applyChallenge(body, seq, at)
        break
      case 'calibration':
        this.graded = this.calibrations.applyCalibration(body, seq, at)
        break
      case 'hidden-item':
        this.calibrations.applyHiddenItem(body, seq)
        break
      case 'hidden-grade':
        this.hiddenGraded = this.calibrations.applyHiddenGrade(body, seq)
        break
      case 'locks':
        if (!Array.isArray(body.locks) || body.locks.length === 0) throw new LedgerError('CORRUPT', 'a locks entry without locks')
        for (const lock of body.locks as Body[]) this.locks.apply(lock, seq, at)
        break
      default:
        throw new LedgerError('CORRUPT', `unknown entry kind ${kind}`)
    }
    const after = this.supply()
    const issued = after.created - after.destroyed - after.released - (before.created - before.destroyed - before.released)
    if (after.held - before.held !== issued || after.held !== after.created - after.destroyed - after.released) {
      throw new LedgerError('CORRUPT', `entry ${seq} (${kind}) would change the money held by ${after.held - before.held - issued} micro-units`)
    }
  }

  private applyRequest(r: AccountRequest, seq: number, at: number): void {
    applyAccountRequest(
      {
        sql: (text) => this.sql(text),
        accountOfKey: (key) => this.accountOfKey(key),
        account: (id) => this.account(id),
        mustAccount: (id) => this.mustAccount(id),
        recordStanding: (id, s) => this.recordStanding(id, s),
        committedStake: (id) => this.committedStake(id),
        unbondingMs: this.ledgerRules.unbondingMs,
        addReleased: (x) => this.setMeta('released', (BigInt(this.meta('released') ?? '0') + x).toString()),
      },
      r,
      seq,
      at,
    )
  }

  /**
   * A round that took a members beacon and did not settle in time: its gateway forfeits the fee
   * (as much of it as its deposit still holds), destroyed rather than paid to anyone, so nobody
   * gains from another's abort; the round can no longer settle.
   */
  private applyExpiry(round: string, seq: number, at: number): void {
    const open = this.sql('SELECT gateway, fee, expires FROM open_rounds WHERE round = ?').get(round) as Row | undefined
    if (open === undefined) return this.locks.expireUnclosed(round, at)
    this.locks.release(round)
    if (at < Number(open.expires)) throw new LedgerError('CORRUPT', `round ${round.slice(0, 16)}… expired early`)
    const stake = (this.sql('SELECT stake FROM accounts WHERE id = ?').get(open.gateway) as Row).stake as bigint
    const fee = open.fee as bigint
    const forfeited = stake < fee ? stake : fee
    this.sql('UPDATE accounts SET stake = stake - ? WHERE id = ?').run(forfeited, open.gateway)
    this.setMeta('destroyed', (BigInt(this.meta('destroyed') ?? '0') + forfeited).toString())
    this.sql('DELETE FROM open_rounds WHERE round = ?').run(round)
    this.sql('INSERT INTO expired_rounds (round, seq, forfeited) VALUES (?, ?, ?)').run(round, seq, forfeited)
    this.recordStanding(open.gateway as string, seq)
  }

  /** Rounds whose time to settle ran out by `at`, expired in order before the next entry. */
  private expireDue(at: number): void {
    if (this.expiring) return
    this.expiring = true
    try {
      const open = (this.sql('SELECT round, expires FROM open_rounds WHERE expires <= ? ORDER BY expires, round LIMIT ?').all(at, MAX_EXPIRIES_PER_WRITE) as Row[]).map((r) => ({ round: r.round as string, at: Number(r.expires) }))
      const due = [...open, ...this.locks.due(at, MAX_EXPIRIES_PER_WRITE)].sort((x, y) => x.at - y.at || (x.round < y.round ? -1 : 1))
      // Bounded per write, so a write after a long idle is not held up by a backlog: the rest
      // follow with the next writes (and cannot settle meanwhile: settlement checks the time).
      for (const r of due.slice(0, MAX_EXPIRIES_PER_WRITE)) this.append('expire', { round: r.round })
    } finally {
      this.expiring = false
    }
  }

  /**
   * Verifies the transcript against the ledger as the round's Query named it, recomputes the
   * outcome, and applies the settlement and the reputation it teaches. Nothing changes unless all
   * of it holds.
   */
  private applySettlement(transcript: unknown[], charge: Charge | undefined, seq: number, at: number, pre?: Preverified): void {
    if (!Array.isArray(transcript) || transcript.length === 0) throw new LedgerError('INVALID_TRANSCRIPT', 'an empty transcript')
    const { v, view } = this.verifyRound(transcript, pre)
    if (this.sql('SELECT 1 FROM rounds WHERE round = ?').get(v.roundId) !== undefined) throw new LedgerError('ALREADY_SETTLED', `round ${v.roundId.slice(0, 16)}… is already settled`)
    if (this.sql('SELECT 1 FROM expired_rounds WHERE round = ?').get(v.roundId) !== undefined) throw new LedgerError('EXPIRED', `round ${v.roundId.slice(0, 16)}… did not settle in time and its fee was forfeited`)
    // Due but not yet expired (expiries are bounded per write): too late all the same.
    const open = this.sql('SELECT expires FROM open_rounds WHERE round = ?').get(v.roundId) as Row | undefined
    if (open !== undefined && Number(open.expires) <= at) throw new LedgerError('EXPIRED', `round ${v.roundId.slice(0, 16)}… did not settle in time; its fee is forfeited`)
    this.sql('DELETE FROM open_rounds WHERE round = ?').run(v.roundId)
    this.locks.release(v.roundId)
    const gateway = this.accountOfKey(v.coordinator)
    const gw = gateway === undefined ? undefined : (this.sql('SELECT kind, stake, operator FROM accounts WHERE id = ?').get(gateway) as Row)
    if (gw === undefined || gw.kind !== 'gateway') throw new LedgerError('NOT_A_GATEWAY', 'the round was coordinated by a key that is not a registered gateway')
    if (charge !== undefined && !chargeSignedBy(charge, v.roundId, v.coordinator)) throw new LedgerError('BAD_SIGNATURE', "the charge is not signed by the round's coordinator")
    const fee = parseAmount(v.query.fee)
    // The fee comes out of the gateway's deposit, which is what nodes saw before serving it.
    if ((gw.stake as bigint) < fee) throw new LedgerError('INSUFFICIENT_FUNDS', `the gateway's deposit ${gw.stake} does not cover the fee ${fee}`)
    this.sql('UPDATE accounts SET stake = stake - ? WHERE id = ?').run(fee, gateway)
    const { toPool, charged } = this.applyCharge(gateway!, gw.operator as string, charge)
    // A round names each member several times over: each key is looked up once.
    const accounts = new Map<string, string>()
    const accountOf = (key: string) => {
      let id = accounts.get(key)
      if (id === undefined) accounts.set(key, (id = this.accountOfKey(key) ?? key))
      return id
    }
    const facts = { coordinator: v.coordinator, fee: fee + toPool, ticket: parseAmount(v.query.ticket), joiners: v.joiners, members: v.members, revealed: v.revealed, winners: v.winners, outcome: v.outcome, verdicts: v.verdicts }
    const s = settle(facts, this.ledgerRules.settlement, (node) => BigInt(Math.round(view.judgeWeight(node) * 1e6)), (node) => {
      const stake = (this.sql('SELECT stake FROM accounts WHERE id = ?').get(accountOf(node)) as Row | undefined)?.stake as bigint | undefined
      return stake === undefined ? 0n : stake < facts.ticket ? stake : facts.ticket
    })
    const touched = new Set<string>([gateway!])
    for (const [node, x] of s.forfeits) {
      this.sql('UPDATE accounts SET stake = stake - ? WHERE id = ?').run(x, accountOf(node))
      touched.add(accountOf(node))
    }
    for (const [node, x] of s.rewards) {
      // Earnings go to the operator the node belongs to.
      const operator = (this.sql('SELECT operator FROM accounts WHERE id = ?').get(accountOf(node)) as Row | undefined)?.operator as string | undefined
      if (operator === undefined) throw new LedgerError('UNKNOWN_ACCOUNT', `rewarded node ${node.slice(0, 8)}… has no account`)
      this.addBalance(operator, x)
    }
    for (const [node, r] of updateReputation(facts, (n) => this.reputation(accountOf(n)), this.ledgerRules.calibration)) {
      const id = accountOf(node)
      this.saveReputation(id, r)
      touched.add(id)
    }
    for (const id of touched) this.recordStanding(id, seq)
    this.sql('INSERT INTO rounds (round, seq, root, charged) VALUES (?, ?, ?, ?)').run(v.roundId, seq, v.root, charged)
    this.settled = { round: v.roundId, seq, pool: s.pool, charged, rewards: Object.fromEntries(s.rewards), forfeits: Object.fromEntries(s.forfeits) }
  }

  /**
   * Opens every envelope first (as a prepared transcript's were), so a forged one is refused as
   * such whatever else it claims; then reads the standing at the head the Query names and checks
   * the round against it.
   */
  private verifyRound(transcript: unknown[], pre?: Preverified): { v: VerifiedRound; view: Standing } {
    try {
      const opened = pre?.opened ?? openEncoded(pre?.encoded ?? encodeTranscript(transcript), this.keys)
      const head = (opened[0]!.env.body as { ledgerHead?: unknown }).ledgerHead
      const view = typeof head === 'string' ? this.viewAt(head) : undefined
      if (view === undefined) throw new LedgerError('UNKNOWN_HEAD', 'the round names a ledger head this ledger never had')
      return { v: verifyOpened(opened, { ledger: view, oldestLive: this.ledgerRules.oldestRules, keys: this.keys, beacons: (round, phase) => this.beaconOf(round, phase) }), view }
    } catch (err) {
      if (err instanceof TranscriptError) throw new LedgerError('INVALID_TRANSCRIPT', err.message)
      throw err
    }
  }

  /**
   * A metered request's price: taken from the paying account (the gateway operator's own, or a
   * client's within what it allowed this gateway) as far as it can pay, never more: the gateway
   * refused requests it could not cover before any work, so a shortfall here is a race it bears.
   * The gateway's operator keeps the cut; the rest joins the round's pool.
   */
  private applyCharge(gateway: string, operator: string, charge: Charge | undefined): { toPool: Micro; charged: Micro } {
    if (charge === undefined) return { toPool: 0n, charged: 0n }
    // A gateway metering itself (no client behind the request) pays from its operator's account.
    const payer = charge.account === gateway ? operator : charge.account
    const balance = (this.sql('SELECT balance FROM accounts WHERE id = ?').get(payer) as Row | undefined)?.balance as bigint | undefined
    if (balance === undefined) throw new LedgerError('UNKNOWN_ACCOUNT', `no account ${charge.account.slice(0, 8)}… to charge`)
    let charged = parseAmount(charge.amount)
    if (balance < charged) charged = balance
    if (payer !== operator) {
      const allowed = this.allowance(payer, gateway)
      if (allowed < charged) charged = allowed
      this.sql('UPDATE allowances SET amount = amount - ? WHERE client = ? AND gateway = ?').run(charged, payer, gateway)
    }
    const cut = (charged * BigInt(charge.cutBp)) / 10_000n
    this.addBalance(payer, -charged)
    this.addBalance(operator, cut)
    return { toPool: charged - cut, charged }
  }

  // ——— state helpers ———

  private reputation(id: string): Reputation {
    const r = this.sql('SELECT * FROM reputation WHERE account = ?').get(id) as Row | undefined
    if (r === undefined) return newReputation(this.ledgerRules.calibration)
    return {
      answerPpm: Number(r.answer_ppm),
      answerRounds: Number(r.answer_rounds),
      judgeAgreedHalves: Number(r.judge_agreed_halves),
      judgeVerdicts: Number(r.judge_verdicts),
      calRight: Number(r.cal_right),
      calTotal: Number(r.cal_total),
      calibrated: Number(r.calibrated) === 1,
      calFailures: Number(r.cal_failures),
      calRetryAt: Number(r.cal_retry_at),
      weightMicro: Number(r.weight_micro),
    }
  }

  private saveReputation(id: string, r: Reputation): void {
    this.sql(
      `INSERT OR REPLACE INTO reputation (account, answer_ppm, answer_rounds, judge_agreed_halves, judge_verdicts, weight_micro, cal_right, cal_total, calibrated, cal_failures, cal_retry_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(id, r.answerPpm, r.answerRounds, r.judgeAgreedHalves, r.judgeVerdicts, r.weightMicro, r.calRight, r.calTotal, r.calibrated ? 1 : 0, r.calFailures, r.calRetryAt)
  }

  private recordStanding(id: string, seq: number): void {
    const a = this.sql('SELECT stake FROM accounts WHERE id = ?').get(id) as Row
    const r = this.reputation(id)
    this.sql('INSERT OR REPLACE INTO standing (account, seq, stake, weight_micro, answer_ppm, answer_rounds) VALUES (?, ?, ?, ?, ?, ?)').run(id, seq, a.stake, r.weightMicro, r.answerPpm, r.answerRounds)
  }

  /** What of an account's stake open rounds hold: its locked tickets, and the fees its open rounds owe. */
  private committedStake(id: string): Micro {
    const locked = this.locks.held(id)
    const owed = (this.sql('SELECT COALESCE(SUM(fee), 0) AS x FROM open_rounds WHERE gateway = ?').get(id) as Row).x as bigint
    return locked + owed
  }

  private mustAccount(id: string): void {
    if (this.sql('SELECT 1 FROM accounts WHERE id = ?').get(id) === undefined) throw new LedgerError('UNKNOWN_ACCOUNT', `no account ${id.slice(0, 8)}…`)
  }

  private addBalance(id: string, x: Micro): void {
    if (x >= 0n) {
      // Adding cannot go negative: one statement, which also says whether the account exists.
      if (this.sql('UPDATE accounts SET balance = balance + ? WHERE id = ?').run(x, id).changes !== 1) throw new LedgerError('UNKNOWN_ACCOUNT', `no account ${id.slice(0, 8)}…`)
      return
    }
    const a = this.sql('SELECT balance FROM accounts WHERE id = ?').get(id) as Row | undefined
    if (a === undefined) throw new LedgerError('UNKNOWN_ACCOUNT', `no account ${id.slice(0, 8)}…`)
    if ((a.balance as bigint) + x < 0n) throw new LedgerError('INSUFFICIENT_FUNDS', `account ${id.slice(0, 8)}… cannot pay ${-x}`)
    this.sql('UPDATE accounts SET balance = balance + ? WHERE id = ?').run(x, id)
  }

  private meta(key: string): string | undefined {
    return (this.sql('SELECT value FROM meta WHERE key = ?').get(key) as Row | undefined)?.value as string | undefined
  }

  private setMeta(key: string, value: string): void {
    this.sql('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value)
  }

  private genesisOperator(): string | undefined {
    return this.meta('operator')
  }

  private load(): void {
    const last = this.sql('SELECT seq, at, hash FROM log ORDER BY seq DESC LIMIT 1').get() as Row | undefined
    if (last === undefined) return
    this.lastSeq = Number(last.seq)
    this.lastAt = Number(last.at)
    this.lastHash = last.hash as string
    this.ledgerRules = rulesOf(JSON.parse(this.meta('rules')!) as Body)
  }
}

function openDatabase(path: string): Database.Database {
  const db = new Database(path)
  db.defaultSafeIntegers(true)
  db.pragma('journal_mode = WAL')
  // A commit reaches the OS before the call returns, so a crashed process loses nothing; writers
  // that must outlast a power cut wait for `synced()`, off the event loop (walSync.ts).
  db.pragma('synchronous = NORMAL')
  migrate(db)
  return db
}

function entryOf(r: Row): LogEntry {
  return { seq: Number(r.seq), at: Number(r.at), kind: r.kind as string, body: r.body as string, prev: r.prev as string, hash: r.hash as string, sig: r.sig as string }
}
