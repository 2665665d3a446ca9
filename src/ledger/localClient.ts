import type { BeaconPhase } from '../round/beacons.js'
import type { BeaconIssue, BeaconRequest } from './beaconRequest.js'
import type { TicketLock, TicketLockRequest } from './ticketLock.js'
import { MAX_LOCKS_PER_ENTRY, WriteGatherer } from './writeGatherer.js'
import type { CalibrationAnswer, CalibrationAsk, CalibrationResult, Challenge } from './calibration.js'
import type { HiddenAsk, HiddenItem, HiddenReveal } from './hiddenRounds.js'
import type { Micro } from './amount.js'
import type { AccountState, Charge, Ledger, LogEntry, SettlementReceipt } from './ledger.js'
import type { LedgerClient } from './networkLedger.js'
import { PreparedTranscript } from './preparedTranscript.js'
import type { Signed } from '../protocol/envelope.js'
import type { AccountRequest } from './requests.js'
import type { StandingSnapshot } from './standing.js'

/** The ledger in this process (`demo`, `up`, `ledger serve` itself), behind the same async port as a served one. */
export class LocalLedgerClient implements LedgerClient {
  private readonly locks: WriteGatherer<unknown, TicketLock>

  constructor(readonly ledger: Ledger) {
    this.locks = new WriteGatherer((r) => ledger.lockTickets(r), MAX_LOCKS_PER_ENTRY)
  }

  async latest(options: { base?: string } = {}): Promise<StandingSnapshot> {
    return (await this.standingAt(this.ledger.head(), options))!
  }

  async standingAt(head: string, options: { base?: string } = {}): Promise<StandingSnapshot | undefined> {
    return (options.base === undefined ? undefined : this.ledger.standingSince(options.base, head)) ?? this.ledger.snapshotAt(head)
  }

  async account(id: string): Promise<AccountState | undefined> {
    return this.ledger.account(id)
  }

  async accountOfKey(key: string): Promise<string | undefined> {
    return this.ledger.accountOfKey(key)
  }

  async allowance(client: string, gateway: string): Promise<Micro> {
    return this.ledger.allowance(client, gateway)
  }

  async submit(request: AccountRequest): Promise<LogEntry> {
    return this.durable(this.ledger.submit(request))
  }

  /**
   * The coordinator in this process verified every member message when it arrived: the ledger
   * beside it takes them as verified (everything else about the round it checks; a replay of the
   * log checks the signatures too).
   */
  async settle(transcript: readonly Signed[], charge?: Charge): Promise<SettlementReceipt> {
    return this.durable(this.ledger.settle(PreparedTranscript.fromVerified(transcript), charge))
  }

  async entries(fromSeq: number, limit: number): Promise<LogEntry[]> {
    return this.ledger.entries(fromSeq, limit)
  }

  async beacon(request: BeaconRequest): Promise<BeaconIssue> {
    return this.durable(this.ledger.beacon(request))
  }

  /** The swarm's members lock together: gathered into one write (writeGatherer.ts). */
  lockTicket(request: TicketLockRequest): Promise<TicketLock> {
    return this.locks.submit(request)
  }

  async calibrationChallenge(ask: CalibrationAsk): Promise<Challenge> {
    return this.durable(this.ledger.calibrationChallenge(ask))
  }

  async answerCalibration(answer: CalibrationAnswer): Promise<CalibrationResult> {
    return this.durable(this.ledger.answerCalibration(answer))
  }

  async hiddenItem(ask: HiddenAsk): Promise<HiddenItem> {
    return this.durable(this.ledger.hiddenItem(ask))
  }

  async revealHiddenRound(reveal: HiddenReveal): Promise<{ graded: number }> {
    return this.durable(this.ledger.revealHiddenRound(reveal))
  }

  async beaconOf(round: string, phase: BeaconPhase): Promise<BeaconIssue | undefined> {
    return this.ledger.beaconOf(round, phase)
  }

  /** Writes are answered once on disk, as a served ledger answers them (walSync.ts); ticket locks are not waited for. */
  private async durable<T>(answer: T): Promise<T> {
    await this.ledger.synced()
    return answer
  }
}
