import type { BeaconPhase } from '../round/beacons.js'
import type { BeaconIssue } from './beaconRequest.js'
import type { TicketLock } from './ticketLock.js'
import type { CalibrationResult, CalibrationRules, Challenge } from './calibration.js'
import type { HiddenItem } from './hiddenRounds.js'
import type { PreparedTranscript } from './preparedTranscript.js'
import type { Standing, StandingSnapshot } from './standing.js'
import type { Micro } from './amount.js'
import type { Reputation } from './reputation.js'
import type { SettlementRules } from './settlement.js'
import type { AccountRequest } from './requests.js'

/**
 * The ledger port (DESIGN.md §6): accounts, stakes and balances in micro-units, reputation, and
 * the settlement of rounds from their signed transcripts. One authority per network keeps a
 * single-writer, hash-chained log of every change, each entry signed by its operator, from which
 * anyone can rebuild the whole state and check every settlement. Implementations: SQLite (here);
 * EVM contracts (later). `test/ledger/compliance.ts` is the behaviour every one must show.
 */
export type AccountKind = 'node' | 'gateway' | 'client' | 'operator'

/** How long after its last deadline a round a ledger opened may still settle, unless its genesis says otherwise. */
export const DEFAULT_SETTLE_WITHIN_MS = 3_600_000

export interface LedgerRules {
  settlement: SettlementRules
  /** Stake a node needs to be eligible for rounds. */
  minStake: Micro
  /** How long unbonded stake waits before it can be withdrawn to the balance. */
  unbondingMs: number
  /**
   * The oldest rules version (protocol/rulesVersions.ts) whose rounds this ledger settles: raising
   * it retires older rules for pay, so no coordinator can run a round by rules the network left.
   */
  oldestRules: number
  /** How many beacons one chain holds before the ledger starts the next (beaconChain.ts). */
  beaconChainLength: number
  /**
   * How long after its last announced deadline a round that took a members beacon may still
   * settle; after that its gateway forfeits the round's fee (a coordinator that aborts a round once
   * it saw who the beacon seated pays for the retry).
   */
  settleWithinMs: number
  /**
   * Proof of capability (calibration.ts): whether judges must pass a challenge, and how the
   * evidence weighs. Absent on a ledger from before it (judges weigh by agreement alone).
   */
  calibration?: CalibrationRules
}

export interface AccountState {
  id: string
  kind: AccountKind
  /** The operator account a node belongs to (itself for others). */
  operator: string
  balance: Micro
  stake: Micro
  unbonding: Micro
  /** When the unbonding amount may be withdrawn (ledger time, ms). */
  unbondAt: number
  /** The keys that act for this account now (rotation retires old ones). */
  keys: string[]
  /** The next request nonce this account must use. */
  nonce: number
  reputation: Reputation
}

export interface LogEntry {
  seq: number
  at: number
  kind: string
  /** Canonical JSON of the entry's body. */
  body: string
  prev: string
  hash: string
  /** The operator's ed25519 signature of `hash`. */
  sig: string
}

/** A settlement waiting for its write: its transcript, signatures checked, and its request's charge. */
export interface PendingSettlement {
  transcript: PreparedTranscript
  charge?: Charge
}

/** A metered request's price: `account` pays `amount`; the gateway keeps `cutBp` of it, the rest joins the pool. */
export interface Charge {
  account: string
  /** Micro-units, as a decimal string. */
  amount: string
  cutBp: number
  /** The coordinator's signature of the charge for this round (charge.ts). */
  sig: string
}

export interface SettlementReceipt {
  round: string
  seq: number
  pool: Micro
  /** What the request's payer actually paid (at most the charge asked). */
  charged: Micro
  rewards: Record<string, Micro>
  forfeits: Record<string, Micro>
}

export interface Ledger {
  /** The hash of the newest entry: rounds name it in their Query. */
  head(): string
  /** What a round reads, as the ledger stood at a head it named; undefined for an unknown head. */
  viewAt(head: string): Standing | undefined
  /** The same, as data (what a served ledger hands out). */
  snapshotAt(head: string): StandingSnapshot | undefined
  /** The standing at `head` as the change from the standing at an earlier `base` (standing.ts). */
  standingSince(base: string, head: string): StandingSnapshot | undefined
  /** What a client has allowed a gateway (its account) to charge it, still unspent. */
  allowance(client: string, gateway: string): Micro
  rules(): LedgerRules
  account(id: string): AccountState | undefined
  /** The account a key acts for now. */
  accountOfKey(key: string): string | undefined
  /** An account's own signed write: register, stake, unbond, withdraw, rotate, allow. */
  submit(request: AccountRequest): LogEntry
  /** The operator's faucet: new money into an account's balance. */
  credit(account: string, amount: Micro): LogEntry
  /**
   * Verifies a round's transcript, recomputes its outcome, and pays it out (with its request's
   * charge), all or nothing. A transcript `prepare`d first has its signatures checked already.
   */
  settle(transcript: readonly unknown[] | PreparedTranscript, charge?: Charge): SettlementReceipt
  /**
   * Several settlements in one write (writeGatherer.ts): each its own entry, all or nothing on its
   * own; each gets its receipt or the error that refused it.
   */
  settleAll(settlements: readonly PendingSettlement[]): (SettlementReceipt | LedgerError)[]
  /** Checks a transcript's signatures on the thread pool, ahead of `settle` (pipelining). */
  prepare(transcript: readonly unknown[]): Promise<PreparedTranscript>
  /**
   * The beacon for a round's seal (beaconRequest.ts): the next value of the ledger's beacon chain,
   * issued once per (round, phase) and logged; asking again returns the first.
   */
  beacon(request: unknown): BeaconIssue
  /** A beacon already issued, or undefined. */
  beaconOf(round: string, phase: BeaconPhase): BeaconIssue | undefined
  /**
   * Rules 3 on: locks a joiner's ticket for a round (ticketLock.ts) until the round settles or
   * expires (or its members beacon does not seat the node); locking again returns the first lock.
   */
  lockTicket(request: unknown): TicketLock
  /**
   * Proof of capability (calibration.ts): a staked, uncalibrated node's challenge (its open one, or
   * a new one once any wait after a failure is over); and the grading of its signed verdicts.
   */
  calibrationChallenge(ask: unknown): Challenge
  answerCalibration(answer: unknown): CalibrationResult
  /** Hidden calibration rounds (hiddenRounds.ts): a gateway's next item, and its report of the round that asked one. */
  hiddenItem(ask: unknown): HiddenItem
  revealHiddenRound(reveal: unknown): { graded: number }
  /** Many locks in one write: each gets its lock or the error that refused it (writeGatherer.ts). */
  lockTickets(requests: readonly unknown[]): (TicketLock | LedgerError)[]
  entries(fromSeq: number, limit: number): LogEntry[]
  /**
   * Resolves once every write made before the call is on disk (walSync.ts). A write returns when it
   * is committed, which survives a killed process; one that must survive a power cut is answered
   * only after this.
   */
  synced(): Promise<void>
  close(): void
}

export type LedgerErrorCode =
  | 'BAD_REQUEST'
  | 'BAD_SIGNATURE'
  | 'BAD_NONCE'
  | 'UNKNOWN_ACCOUNT'
  | 'EXISTS'
  | 'INSUFFICIENT_FUNDS'
  | 'NOT_YET'
  | 'INVALID_TRANSCRIPT'
  | 'UNKNOWN_HEAD'
  | 'ALREADY_SETTLED'
  | 'EXPIRED'
  | 'CLOSED'
  | 'NOT_REQUIRED'
  | 'INELIGIBLE'
  | 'NOT_A_GATEWAY'
  | 'CORRUPT'

/** A refused write: nothing changed. */
export class LedgerError extends Error {
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'LedgerError'
  }
}
