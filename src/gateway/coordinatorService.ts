import { canonicalJson } from '../crypto/canonical.js'
import { type Identity, type PublicKeyCache, SignatureVerifier } from '../crypto/identity.js'
import { byHash, type CryptoMeter, openKnown, type Signed } from '../protocol/envelope.js'
import { ProtocolError } from '../protocol/errors.js'
import { MAX_ENVELOPE_BYTES, QUERY_TOPIC } from '../protocol/limits.js'
import {
  type CoordinatorEffect,
  type CoordinatorPhase,
  CoordinatorRound,
  type PhaseDurations,
  type RoundRequest,
} from '../round/coordinator.js'
import type { NetworkLedger } from '../ledger/networkLedger.js'
import { type Clock, systemClock } from '../runtime/clock.js'
import { MessageIntake, type Verification } from '../runtime/intake.js'
import { type HostedRound, RoundHost } from '../runtime/roundHost.js'
import { randomSalt, type SaltSource } from '../runtime/salt.js'
import type { Transport } from '../transport/transport.js'
import { type Paymaster, priceOf, usageOf } from './paymaster.js'
import type { BeaconSource } from '../ledger/beaconRequest.js'
import { DEFAULT_SETTLE_WITHIN_MS } from '../ledger/ledger.js'
import { CURRENT_RULES, LEDGERLESS_RULES } from '../protocol/rulesVersions.js'
import type { BeaconPhase } from '../round/beacons.js'
import { type AskOptions, RoundFailedError, type RoundResult } from './swarm.js'

/**
 * Coordinates rounds over a transport: publishes each Query, feeds verified member messages to the
 * round's CoordinatorRound through the shared RoundHost (which fires its deadlines), and performs
 * its effects. A round the caller gives up on, or that is running when the service stops, is
 * abandoned: its members hear so and leave at once. Its first Query after a start names the
 * sequence it started at (`since`), so nodes drop the rounds a previous run left behind.
 */
export interface CoordinatorInit {
  identity: Identity
  /** Each Query names the newest standing; `fixedLedger(view)` for a swarm without a ledger. */
  ledger: NetworkLedger
  durations?: Partial<PhaseDurations>
}

export interface CoordinatorComponents {
  transport: Transport
  clock?: Clock
  salt?: SaltSource
  meter?: CryptoMeter
  verification?: Verification
  keys?: PublicKeyCache
  /** With a ledger: the terms each Query offers, the deposit bound, and settlement. */
  paymaster?: Paymaster
  /** With a ledger: its beacons, which key member selection and the assignment (rules 2 on; without, rules 1). */
  beacons?: BeaconSource
  onBug?: (err: unknown) => void
}

export type AskRequest = Omit<RoundRequest, 'coordSeq' | 'durations' | 'since'> & {
  durations?: Partial<PhaseDurations>
}

/**
 * The phase durations a coordinator announces, from how long members may take to answer or judge:
 * a second to join, five to reveal. Every command derives its rounds' timing here.
 */
export function phaseDurations(answerMs: number): PhaseDurations {
  return { join: 1_000, commit: answerMs, reveal: 5_000, verdictCommit: answerMs, verdictReveal: 5_000 }
}

export const DEFAULT_DURATIONS: PhaseDurations = phaseDurations(60_000)

/** How long `stop` waits for the RoundEnded messages it sends to leave. */
const STOP_FLUSH_MS = 1_000

interface Caller {
  onPhase: AskOptions['onPhase']
  payer: string
  /** Takes back the fee this round promised (once it settled, or if it never will). */
  release: () => void
  phase: CoordinatorPhase
  resolve: (r: RoundResult) => void
  reject: (e: Error) => void
  detach: () => void
}

export class CoordinatorService {
  readonly intake: MessageIntake
  private readonly host: RoundHost<CoordinatorRound, CoordinatorEffect>
  private readonly callers = new Map<string, Caller>()
  private readonly clock: Clock
  private readonly salt: SaltSource
  private lastSeq = 0
  /** The first coordSeq of this run; set by the first round. */
  private since: number | undefined
  private unsubscribe: (() => void) | undefined
  /** Sends still in flight, so `stop` can let its RoundEnded messages leave. */
  private readonly sending = new Set<Promise<unknown>>()
  private readonly verifier: SignatureVerifier

  constructor(
    private readonly init: CoordinatorInit,
    private readonly components: CoordinatorComponents,
  ) {
    this.intake = new MessageIntake({ ...components, onBug: components.onBug })
    this.clock = components.clock ?? systemClock
    this.salt = components.salt ?? randomSalt
    this.verifier = new SignatureVerifier(components.keys)
    this.host = new RoundHost({
      clock: this.clock,
      perform: (round, effects) => this.perform(round, effects),
      onReject: (err) => this.intake.reject(err),
      onBug: (err) => this.intake.bug(err),
    })
  }

  get id(): string {
    return this.init.identity.id
  }

  /** Rounds running for a caller (a round given up that still answers latecomers is not one). */
  get activeRounds(): number {
    return this.callers.size
  }

  start(): void {
    this.unsubscribe = this.components.transport.onMessage((m) => {
      // Gossip is for others (a gateway's node directory reads status reports); rounds are point-to-point.
      if (m.topic === undefined) this.intake.submit(m.data, (msg) => this.onMessage(msg), m.report)
    })
  }

  /** Abandons every running round (its members hear so) and stops taking messages. */
  async stop(): Promise<void> {
    for (const round of [...this.host.values()]) {
      this.host.step(round, (m) => m.abandon('stopped', this.clock.now()))
      this.finish(round, (c) => fail(c, new RoundFailedError('ABORTED', 'coordinator stopped'), this.feeHeld(round.machine)), true)
    }
    this.unsubscribe?.()
    if (this.sending.size > 0) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([Promise.allSettled(this.sending), new Promise((r) => (timer = setTimeout(r, STOP_FLUSH_MS)))])
      clearTimeout(timer)
    }
  }

  /** Runs one round to its Result. Rejects with RoundFailedError if the swarm cannot answer. */
  ask(request: AskRequest, options: AskOptions = {}): Promise<RoundResult> {
    if (options.signal?.aborted) return Promise.reject(new RoundFailedError('ABORTED', 'round aborted by the caller'))
    // Operators are ledger accounts: with no ledger, no node could show which operator it is.
    if (request.operators !== undefined && this.components.beacons === undefined) return Promise.reject(new RoundFailedError('NO_LEDGER', 'chorus.operators names ledger accounts, and this gateway runs without a ledger'))
    const now = this.clock.now()
    // Strictly increasing across restarts too, as long as the clock does not run backwards.
    this.lastSeq = Math.max(this.lastSeq + 1, now)
    const paymaster = this.components.paymaster
    let release = () => {}
    try {
      release = paymaster?.open() ?? release
    } catch (err) {
      return Promise.reject(err)
    }
    this.since ??= this.lastSeq
    const terms = paymaster === undefined ? {} : { fee: paymaster.terms.fee.toString(), ticket: paymaster.terms.ticket.toString() }
    const { round, effects } = CoordinatorRound.start(
      {
        identity: this.init.identity,
        ledger: this.init.ledger.forQuery?.(this.clock.now()) ?? this.init.ledger.latest(),
        rules: this.components.beacons === undefined ? LEDGERLESS_RULES : CURRENT_RULES,
        meter: this.components.meter,
      },
      {
        ...request,
        ...terms,
        coordSeq: this.lastSeq,
        since: this.since,
        durations: { ...DEFAULT_DURATIONS, ...this.init.durations, ...request.durations },
      },
      this.salt(),
      now,
    )
    const size = round.query.wire.length
    if (size > MAX_ENVELOPE_BYTES) {
      release()
      return Promise.reject(new RoundFailedError('TOO_LARGE', `the signed query is ${size} bytes; the protocol carries at most ${MAX_ENVELOPE_BYTES}`))
    }
    return new Promise<RoundResult>((resolve, reject) => {
      const hosted = this.host.add(round)
      const signal = options.signal
      const onAbort = () => {
        this.host.step(hosted, (m) => m.abandon('cancelled', this.clock.now()))
        this.finish(hosted, (c) => fail(c, new RoundFailedError('ABORTED', 'round aborted by the caller'), this.feeHeld(round)))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.callers.set(round.roundId, {
        onPhase: options.onPhase,
        payer: options.payer ?? this.id,
        release,
        phase: round.phase,
        resolve,
        reject,
        // The listener holds the round: it must go when the round does, or a long-lived signal
        // (a request's timeout) keeps every finished round alive until it fires.
        detach: () => signal?.removeEventListener('abort', onAbort),
      })
      this.host.step(hosted, () => effects)
    })
  }

  private onMessage(msg: Signed): void {
    const round = this.host.get(msg.env.round)
    if (round === undefined) throw new ProtocolError('WRONG_ROUND', 'no such active round')
    this.host.deliver(round, msg, (m, x) => m.apply(x, this.clock.now()))
  }

  private perform(round: HostedRound<CoordinatorRound>, effects: CoordinatorEffect[]): void {
    const t = this.components.transport
    const caller = this.callers.get(round.machine.roundId)
    if (caller !== undefined && round.machine.phase !== caller.phase) {
      caller.phase = round.machine.phase
      caller.onPhase?.(caller.phase, this.clock.now(), round.machine.roundId)
    }
    for (const e of effects) {
      switch (e.kind) {
        case 'broadcast':
          this.track(t.publish(QUERY_TOPIC, e.msg.wire))
          break
        case 'send':
          for (const to of e.to) this.track(t.send(to, e.msg.wire))
          break
        case 'forward':
          for (const m of e.msgs) this.track(t.send(e.to, m.wire))
          break
        case 'done':
          this.finish(round, (c) => c.resolve(this.done(round.machine, e, c)))
          break
        case 'failed':
          this.finish(round, (c) => fail(c, new RoundFailedError(e.code, e.message), this.feeHeld(round.machine)))
          break
        case 'retired':
          this.host.remove(round.machine.roundId)
          break
        case 'beacon':
          this.askBeacon(round, e.phase, e.seal, e.joins)
          break
      }
    }
  }

  /**
   * How long a failed round's fee stays promised: a round the ledger opened (it took its members
   * beacon) forfeits the fee when its time to settle runs out, so the deposit must keep covering it
   * until then (the ledger's default hour after the last deadline).
   */
  private feeHeld(machine: CoordinatorRound): number {
    return machine.openOnLedger ? Math.max(0, machine.deadlines.verdictReveal + DEFAULT_SETTLE_WITHIN_MS - this.clock.now()) : 0
  }

  private askBeacon(round: HostedRound<CoordinatorRound>, phase: BeaconPhase, seal: string, held?: readonly Signed<'Join'>[]): void {
    const beacons = this.components.beacons
    const asked = beacons === undefined ? Promise.reject(new Error('this gateway has no ledger')) : beacons(round.machine.query, phase, seal, held)
    asked.then(
      (issued) => {
        // Rules 3: the ledger names the joiners with its members beacon; their Joins are checked here
        // like any message, but for those byte for byte a Join this round already checked.
        let joins: Signed[] | undefined
        try {
          const known = byHash(held)
          joins = issued.joins?.map((j) => openKnown(Buffer.from(canonicalJson(j), 'utf8'), known, this.verifier))
        } catch (err) {
          return this.host.step(round, (m) => m.beaconFailed(phase, `the ledger's joiner set holds a message that does not open: ${(err as Error).message}`, this.clock.now()))
        }
        this.host.step(round, (m) => m.beacon(phase, issued, this.clock.now(), joins))
      },
      (err: unknown) => this.host.step(round, (m) => m.beaconFailed(phase, (err as Error)?.message ?? String(err), this.clock.now())),
    )
  }

  /** The caller's result; with a ledger, the round's settlement starts now, charged to its payer. */
  private done(machine: CoordinatorRound, e: Extract<CoordinatorEffect, { kind: 'done' }>, c: Caller): RoundResult {
    const usage = usageOf(e.transcript)
    const paymaster = this.components.paymaster
    const r: RoundResult = { roundId: machine.roundId, outcome: e.outcome, result: e.result, transcript: e.transcript, times: machine.times, usage, price: 0n }
    if (paymaster === undefined) return r
    r.price = priceOf(usage, paymaster.pricing)
    r.settlement = paymaster.settle(machine.roundId, e.transcript, c.payer, r.price).finally(c.release)
    return r
  }

  /** An unreachable member is simply dropped at the deadline; the send's failure needs no handling. */
  private track(sending: Promise<unknown>): void {
    const settled = sending.catch(() => {})
    this.sending.add(settled)
    void settled.then(() => this.sending.delete(settled))
  }

  /**
   * Settles the round's caller. The round leaves the host unless its machine still names a
   * deadline (a round given up while joining answers latecomers until the join deadline, then
   * retires); `stop` removes it regardless.
   */
  private finish(round: HostedRound<CoordinatorRound>, settle: (c: Caller) => void, force = false): void {
    const id = round.machine.roundId
    if (force || round.machine.nextDeadline() === undefined) this.host.remove(id)
    const caller = this.callers.get(id)
    if (caller === undefined) return
    this.callers.delete(id)
    caller.detach()
    settle(caller)
  }
}

/**
 * A round that will not settle takes its fee promise back: at once, or after `holdMs` when the
 * ledger will take the fee anyway (one that settles does when the ledger has it).
 */
function fail(c: Caller, err: RoundFailedError, holdMs = 0): void {
  if (holdMs === 0) c.release()
  else setTimeout(c.release, holdMs).unref()
  c.reject(err)
}
