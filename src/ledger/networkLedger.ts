import type { BeaconPhase } from '../round/beacons.js'
import type { BeaconIssue, BeaconRequest } from './beaconRequest.js'
import type { TicketLock, TicketLockRequest } from './ticketLock.js'
import type { CalibrationAnswer, CalibrationAsk, CalibrationResult, Challenge } from './calibration.js'
import type { HiddenAsk, HiddenItem, HiddenReveal } from './hiddenRounds.js'
import type { LedgerView } from '../round/ledgerView.js'
import { BoundedMap } from '../runtime/boundedMap.js'
import type { Micro } from './amount.js'
import type { AccountState, Charge, LogEntry, SettlementReceipt } from './ledger.js'
import type { Signed } from '../protocol/envelope.js'
import type { AccountRequest } from './requests.js'
import { mergeSnapshot, type Standing, type StandingSnapshot, standingOf } from './standing.js'

/**
 * How a running node or gateway reaches its network's ledger: the SQLite file in this process
 * (`demo`, `up`), or a ledger served over HTTP (`chorus ledger serve`). Every call may go over the
 * network, so every call is async and takes a signal.
 */
export interface LedgerClient {
  /**
   * The newest head's standing, and the standing at a head (undefined for a head the ledger never
   * had). Given a `base` head the caller knows, the answer may be the change from it (`base` set:
   * `mergeSnapshot`), which is what keeps following a busy ledger cheap.
   */
  latest(options?: { signal?: AbortSignal; base?: string }): Promise<StandingSnapshot>
  standingAt(head: string, options?: { signal?: AbortSignal; base?: string }): Promise<StandingSnapshot | undefined>
  account(id: string, options?: { signal?: AbortSignal }): Promise<AccountState | undefined>
  accountOfKey(key: string, options?: { signal?: AbortSignal }): Promise<string | undefined>
  allowance(client: string, gateway: string, options?: { signal?: AbortSignal }): Promise<Micro>
  submit(request: AccountRequest, options?: { signal?: AbortSignal }): Promise<LogEntry>
  /** A round's transcript, as the coordinator that ran it holds it (messages it verified or signed). */
  settle(transcript: readonly Signed[], charge?: Charge, options?: { signal?: AbortSignal }): Promise<SettlementReceipt>
  entries(fromSeq: number, limit: number, options?: { signal?: AbortSignal }): Promise<LogEntry[]>
  /** The beacon for a round's seal (issued once per round and phase; asking again returns the first). */
  beacon(request: BeaconRequest, options?: { signal?: AbortSignal }): Promise<BeaconIssue>
  /** A beacon already issued, or undefined. */
  beaconOf(round: string, phase: BeaconPhase, options?: { signal?: AbortSignal }): Promise<BeaconIssue | undefined>
  /** Rules 3 on: locks this node's ticket for a round (sent as its Join goes to the coordinator). */
  lockTicket(request: TicketLockRequest, options?: { signal?: AbortSignal }): Promise<TicketLock>
  /** Proof of capability: a node's calibration challenge, and the grading of its answer (calibration.ts). */
  calibrationChallenge(ask: CalibrationAsk, options?: { signal?: AbortSignal }): Promise<Challenge>
  answerCalibration(answer: CalibrationAnswer, options?: { signal?: AbortSignal }): Promise<CalibrationResult>
  /** Hidden calibration rounds: a gateway's next item (its question), and its report of the round that asked it. */
  hiddenItem(ask: HiddenAsk, options?: { signal?: AbortSignal }): Promise<HiddenItem>
  revealHiddenRound(reveal: HiddenReveal, options?: { signal?: AbortSignal }): Promise<{ graded: number }>
}

/**
 * What the round runtimes read: the standing a new Query names (`latest`) and the standing at the
 * head a received Query names (`at`, cached, fetched when new). `metered` is false for a fixed view
 * (tests, evaluation, a swarm run without a ledger): nobody pays and nobody's deposit is checked.
 */
export interface NetworkLedger {
  readonly metered: boolean
  latest(): Standing
  at(head: string): Standing | undefined | Promise<Standing | undefined>
  /** Rules 3 on: locks this node's ticket for the round, sent as its Join leaves (absent: no ledger to lock on). */
  lockTicket?(query: Signed<'Query'>, join: Signed<'Join'>, signal?: AbortSignal): Promise<void>
  /**
   * The standing a new Query names (absent: `latest`): recent, but the same for the Queries of
   * about a second, so members look each head up once, not once per round.
   */
  forQuery?(now: number): Standing
}

/** How long a gateway's Queries keep naming one head before they name the newest. */
export const QUERY_HEAD_MS = 1_000

/** A fixed view: every Query names its head, and no gateway needs a deposit. */
export function fixedLedger(view: LedgerView): NetworkLedger {
  const standing: Standing = { head: () => view.head(), eligible: (n) => view.eligible(n), judgeWeight: (n) => view.judgeWeight(n), seq: 0, oldestRules: 1, deposit: () => undefined, reputationPpm: () => undefined, stake: () => undefined, answerRounds: (n) => view.answerRounds?.(n), operatorOf: (n) => view.operatorOf?.(n) }
  return { metered: false, latest: () => standing, at: (head) => (head === view.head() ? standing : undefined) }
}

/** How often a served ledger's newest head is read again when nothing here moved it. */
export const LATEST_REFRESH_MS = 2_000

/**
 * A NetworkLedger over a LedgerClient: standings are fetched once per head and kept (the last 64,
 * and the last 256 heads the ledger said it never had, so a Query naming a made-up head costs one
 * lookup, not one per copy). `refresh` reads the newest head; `start` does so every few seconds.
 */
export class CachedLedger implements NetworkLedger {
  readonly metered = true
  private current: Standing
  /** The newest standing as data: the base the next change is asked from. */
  private currentSnapshot: StandingSnapshot
  private readonly known = new BoundedMap<string, Standing>(64)
  private readonly unknown = new BoundedMap<string, true>(256)
  private readonly loading = new Map<string, Promise<Standing | undefined>>()
  /** The standing this gateway's Queries name now, and since when. */
  private named: { standing: Standing; at: number } | undefined
  private timer: NodeJS.Timeout | undefined

  private constructor(
    private readonly client: LedgerClient,
    first: StandingSnapshot,
  ) {
    this.currentSnapshot = first
    this.current = this.keep(first)
  }

  static async connect(client: LedgerClient, signal?: AbortSignal): Promise<CachedLedger> {
    return new CachedLedger(client, await client.latest(signal ? { signal } : {}))
  }

  latest(): Standing {
    return this.current
  }

  forQuery(now: number): Standing {
    // Every round moves the head (its beacons, locks and settlement): naming the newest would send
    // every member to the ledger for each round's standing. A head up to a second old is as good
    // a basis for eligibility and weights, and members fetch it once.
    if (this.named === undefined || now - this.named.at >= QUERY_HEAD_MS || now < this.named.at) this.named = { standing: this.current, at: now }
    return this.named.standing
  }

  async lockTicket(query: Signed<'Query'>, join: Signed<'Join'>, signal?: AbortSignal): Promise<void> {
    await this.client.lockTicket({ query: query.env, join: join.env }, signal ? { signal } : {})
  }

  at(head: string): Standing | undefined | Promise<Standing | undefined> {
    const s = this.known.get(head)
    if (s !== undefined || this.unknown.has(head)) return s
    let p = this.loading.get(head)
    if (p === undefined) {
      const base = this.currentSnapshot
      p = this.client.standingAt(head, { base: base.head }).then(
        (snap) => {
          this.loading.delete(head)
          if (snap === undefined) this.unknown.set(head, true)
          return snap === undefined ? undefined : this.keep(this.whole(snap, base))
        },
        (err: unknown) => {
          this.loading.delete(head)
          throw err
        },
      )
      this.loading.set(head, p)
    }
    return p
  }

  /** Reads the newest head (after this process wrote to the ledger, or on a timer). */
  async refresh(): Promise<Standing> {
    const base = this.currentSnapshot
    const snap = this.whole(await this.client.latest({ base: base.head }), base)
    if (snap.seq >= this.current.seq) {
      this.currentSnapshot = snap
      this.current = this.keep(snap)
    }
    return this.current
  }

  /** A whole snapshot from what the ledger sent: itself, or a change applied to the base asked from. */
  private whole(snap: StandingSnapshot, base: StandingSnapshot): StandingSnapshot {
    return snap.base === undefined ? snap : mergeSnapshot(base, snap)
  }

  start(everyMs = LATEST_REFRESH_MS): void {
    this.timer = setInterval(() => void this.refresh().catch(() => {}), everyMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private keep(snap: StandingSnapshot): Standing {
    const s = this.known.get(snap.head) ?? standingOf(snap)
    this.known.set(snap.head, s)
    return s
  }
}
