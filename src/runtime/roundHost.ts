import type { Signed } from '../protocol/envelope.js'
import { ProtocolError } from '../protocol/errors.js'
import type { Clock } from './clock.js'

/**
 * What drives a round's state machine, shared by the node and the coordinator runtimes: it keeps
 * the rounds a process is in, feeds each one its verified messages (dropping replays), performs the
 * effects each step returns, and keeps exactly one timer per round at the deadline the machine
 * states after every step. The runtime never infers a timer from a phase: a machine that names a
 * deadline gets ticked at it, so every round ends by its last deadline whatever the peers do.
 *
 * A step that throws a ProtocolError is a rejected message (counted by the caller's intake); any
 * other throw is a bug in this process, contained here: counted, reported, never a crash and never
 * blamed on a peer.
 */
export interface RoundMachine<E> {
  readonly roundId: string
  /** When the machine must next be ticked; undefined when it waits for nothing. */
  nextDeadline(): number | undefined
  tick(now: number): E[]
}

export interface HostedRound<M> {
  readonly machine: M
  /** Aborted when the round leaves the host: model calls and sends made for it stop. */
  readonly signal: AbortSignal
}

export interface RoundHostInit<M, E> {
  clock: Clock
  /** Performs one step's effects; calls `remove` when they end the round. */
  perform(round: HostedRound<M>, effects: E[]): void
  /** A peer's message the machine refused. */
  onReject(err: ProtocolError): void
  /** Anything else a step threw: a bug here, not the peer's fault. */
  onBug(err: unknown, roundId: string): void
}

interface Entry<M> extends HostedRound<M> {
  readonly abort: AbortController
  cancelTimer: () => void
  timerAt: number | undefined
  /** (sender, seq) of every message this round accepted: only accepted ones, so a stranger cannot grow it. */
  readonly accepted: Set<string>
}

export class RoundHost<M extends RoundMachine<E>, E> {
  private readonly rounds = new Map<string, Entry<M>>()

  constructor(private readonly init: RoundHostInit<M, E>) {}

  get size(): number {
    return this.rounds.size
  }

  get(roundId: string): HostedRound<M> | undefined {
    return this.rounds.get(roundId)
  }

  has(roundId: string): boolean {
    return this.rounds.has(roundId)
  }

  values(): IterableIterator<HostedRound<M>> {
    return this.rounds.values()
  }

  add(machine: M): HostedRound<M> {
    if (this.rounds.has(machine.roundId)) throw new Error(`round ${machine.roundId} is already hosted`)
    const abort = new AbortController()
    const entry: Entry<M> = { machine, abort, signal: abort.signal, cancelTimer: () => {}, timerAt: undefined, accepted: new Set() }
    this.rounds.set(machine.roundId, entry)
    return entry
  }

  /** Runs one step of a hosted round's machine, performs its effects, and re-arms its timer. */
  step(round: HostedRound<M>, fn: (machine: M) => E[]): void {
    const entry = round as Entry<M>
    if (this.rounds.get(entry.machine.roundId) !== entry) return
    let effects: E[]
    try {
      effects = fn(entry.machine)
    } catch (err) {
      if (err instanceof ProtocolError) this.init.onReject(err)
      else this.init.onBug(err, entry.machine.roundId)
      effects = []
    }
    if (effects.length > 0) {
      try {
        this.init.perform(entry, effects)
      } catch (err) {
        this.init.onBug(err, entry.machine.roundId)
      }
    }
    this.schedule(entry)
  }

  /** Applies a verified message to its round, unless the round already accepted it (a replay). */
  deliver(round: HostedRound<M>, msg: Signed, apply: (machine: M, msg: Signed) => E[]): void {
    const entry = round as Entry<M>
    const key = `${msg.env.from}:${msg.env.seq}`
    if (entry.accepted.has(key)) {
      this.init.onReject(new ProtocolError('REPLAY', 'replayed message'))
      return
    }
    this.step(entry, (m) => {
      const effects = apply(m, msg)
      entry.accepted.add(key)
      return effects
    })
  }

  /** Drops a round: its timer stops and its signal aborts (in-flight model calls end). */
  remove(roundId: string): boolean {
    const entry = this.rounds.get(roundId)
    if (entry === undefined) return false
    this.rounds.delete(roundId)
    entry.cancelTimer()
    entry.abort.abort()
    return true
  }

  private schedule(entry: Entry<M>): void {
    if (this.rounds.get(entry.machine.roundId) !== entry) return
    const at = entry.machine.nextDeadline()
    if (at === entry.timerAt) return
    entry.cancelTimer()
    entry.cancelTimer = () => {}
    entry.timerAt = at
    if (at === undefined) return
    const clock = this.init.clock
    entry.cancelTimer = clock.setTimer(at - clock.now(), () => {
      // Cleared first: if the tick changes nothing (a timer that fired a little early), the next
      // schedule arms it again instead of seeing the same deadline and leaving the round unwatched.
      entry.timerAt = undefined
      this.step(entry, (m) => m.tick(clock.now()))
    })
  }
}
