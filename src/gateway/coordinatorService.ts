import { QUERY_TOPIC } from '../protocol/limits.js'
import type { Identity } from '../crypto/identity.js'
import type { CryptoMeter, Signed } from '../protocol/envelope.js'
import { ProtocolError } from '../protocol/errors.js'
import {
  type CoordinatorEffect,
  type CoordinatorPhase,
  CoordinatorRound,
  type PhaseDurations,
  type PhaseTimes,
  type RoundRequest,
} from '../round/coordinator.js'
import type { LedgerView } from '../round/ledgerView.js'
import type { RoundOutcome } from '../round/outcome.js'
import { type Clock, systemClock } from '../runtime/clock.js'
import { MessageIntake, type Verification } from '../runtime/intake.js'
import type { PublicKeyCache } from '../crypto/identity.js'
import { randomSalt, type SaltSource } from '../runtime/salt.js'
import type { Transport } from '../transport/transport.js'

/**
 * Coordinates rounds over a transport: publishes each Query, feeds verified member messages to the
 * round's CoordinatorRound, performs its effects, and fires its deadlines with real timers.
 */
export interface CoordinatorInit {
  identity: Identity
  ledger: LedgerView
  maxJudgeShare?: number
  durations?: Partial<PhaseDurations>
}

export interface CoordinatorComponents {
  transport: Transport
  clock?: Clock
  salt?: SaltSource
  meter?: CryptoMeter
  verification?: Verification
  keys?: PublicKeyCache
}

export interface RoundResult {
  roundId: string
  outcome: RoundOutcome
  result: Signed<'Result'>
  transcript: readonly Signed[]
  times: PhaseTimes
}

export type AskRequest = Omit<RoundRequest, 'coordSeq' | 'durations'> & {
  durations?: Partial<PhaseDurations>
}

export class RoundFailedError extends Error {
  constructor(
    readonly code: 'NO_MEMBERS' | 'NO_ANSWERS' | 'ABORTED',
    message: string,
  ) {
    super(message)
    this.name = 'RoundFailedError'
  }
}

export const DEFAULT_DURATIONS: PhaseDurations = {
  join: 2_000,
  commit: 60_000,
  reveal: 5_000,
  verdictCommit: 60_000,
  verdictReveal: 5_000,
}

export interface AskOptions {
  signal?: AbortSignal
  /** Called when the round enters a phase (progress reporting). */
  onPhase?: (phase: CoordinatorPhase, at: number) => void
}

interface Active {
  round: CoordinatorRound
  onPhase: AskOptions['onPhase']
  phase: CoordinatorPhase
  cancelTimer: () => void
  timerAt: number | undefined
  resolve: (r: RoundResult) => void
  reject: (e: Error) => void
}

export class CoordinatorService {
  readonly intake: MessageIntake
  private readonly active = new Map<string, Active>()
  private readonly clock: Clock
  private readonly salt: SaltSource
  private lastSeq = 0
  private unsubscribe: (() => void) | undefined

  constructor(
    private readonly init: CoordinatorInit,
    private readonly components: CoordinatorComponents,
  ) {
    this.intake = new MessageIntake(components)
    this.clock = components.clock ?? systemClock
    this.salt = components.salt ?? randomSalt
  }

  get id(): string {
    return this.init.identity.id
  }

  get activeRounds(): number {
    return this.active.size
  }

  start(): void {
    this.unsubscribe = this.components.transport.onMessage((m) => this.onData(m.data))
  }

  async stop(): Promise<void> {
    this.unsubscribe?.()
    for (const a of this.active.values()) {
      a.cancelTimer()
      a.reject(new RoundFailedError('ABORTED', 'coordinator stopped'))
    }
    this.active.clear()
  }

  /** Runs one round to its Result. Rejects with RoundFailedError if the swarm cannot answer. */
  ask(request: AskRequest, options: AskOptions = {}): Promise<RoundResult> {
    const now = this.clock.now()
    // Strictly increasing across restarts too, as long as the clock does not run backwards.
    this.lastSeq = Math.max(this.lastSeq + 1, now)
    const { round, effects } = CoordinatorRound.start(
      {
        identity: this.init.identity,
        ledger: this.init.ledger,
        maxJudgeShare: this.init.maxJudgeShare ?? 0.25,
        meter: this.components.meter,
      },
      {
        ...request,
        coordSeq: this.lastSeq,
        durations: { ...DEFAULT_DURATIONS, ...this.init.durations, ...request.durations },
      },
      this.salt(),
      now,
    )
    return new Promise<RoundResult>((resolve, reject) => {
      const entry: Active = { round, cancelTimer: () => {}, timerAt: undefined, resolve, reject, onPhase: options.onPhase, phase: round.phase }
      this.active.set(round.roundId, entry)
      options.signal?.addEventListener(
        'abort',
        () =>
          this.settle(entry, () => reject(new RoundFailedError('ABORTED', 'round aborted by the caller'))),
        { once: true },
      )
      this.perform(entry, effects)
    })
  }

  private onData(data: Uint8Array): void {
    this.intake.submit(data, (msg) => this.onMessage(msg))
  }

  private onMessage(msg: Signed): void {
    const entry = this.active.get(msg.env.round)
    try {
      if (entry === undefined) throw new ProtocolError('WRONG_ROUND', 'no such active round')
      this.perform(entry, entry.round.apply(msg, this.clock.now()))
    } catch (err) {
      this.intake.reject(err)
    }
  }

  private perform(entry: Active, effects: CoordinatorEffect[]): void {
    if (entry.round.phase !== entry.phase) {
      entry.phase = entry.round.phase
      entry.onPhase?.(entry.phase, this.clock.now())
    }
    const t = this.components.transport
    const warn = () => {} // an unreachable member is simply dropped at the deadline
    for (const e of effects) {
      switch (e.kind) {
        case 'broadcast':
          t.publish(QUERY_TOPIC, e.msg.wire).catch(warn)
          break
        case 'send':
          for (const to of e.to) t.send(to, e.msg.wire).catch(warn)
          break
        case 'forward':
          for (const m of e.msgs) t.send(e.to, m.wire).catch(warn)
          break
        case 'done':
          this.settle(entry, () =>
            entry.resolve({
              roundId: entry.round.roundId,
              outcome: e.outcome,
              result: e.result,
              transcript: e.transcript,
              times: entry.round.times,
            }),
          )
          return
        case 'failed':
          this.settle(entry, () => entry.reject(new RoundFailedError(e.code, e.message)))
          return
      }
    }
    this.schedule(entry)
  }

  private schedule(entry: Active): void {
    const at = entry.round.nextDeadline()
    if (at === entry.timerAt) return
    entry.cancelTimer()
    entry.timerAt = at
    if (at === undefined) return
    entry.cancelTimer = this.clock.setTimer(at - this.clock.now(), () => {
      entry.timerAt = undefined
      this.perform(entry, entry.round.tick(this.clock.now()))
    })
  }

  private settle(entry: Active, fn: () => void): void {
    if (!this.active.delete(entry.round.roundId)) return
    entry.cancelTimer()
    this.intake.forgetRound(entry.round.roundId)
    fn()
  }
}
