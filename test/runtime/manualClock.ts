import type { Clock } from '../../src/runtime/clock.js'

/** A clock for tests: time moves only when the test says, and due timers fire in time order. */
export class ManualClock implements Clock {
  private t: number
  private seq = 0
  private readonly timers = new Map<number, { at: number; fn: () => void }>()

  constructor(start = 1_000_000) {
    this.t = start
  }

  now(): number {
    return this.t
  }

  setTimer(ms: number, fn: () => void): () => void {
    const id = this.seq++
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn })
    return () => this.timers.delete(id)
  }

  /** Pending timers (a runtime that forgot a round would show here, or not at all). */
  get pending(): number {
    return this.timers.size
  }

  /** Moves time to `to`, firing every timer due by then, earliest first. */
  advanceTo(to: number): void {
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined
      for (const e of this.timers) if (e[1].at <= to && (next === undefined || e[1].at < next[1].at)) next = e
      if (next === undefined) break
      this.timers.delete(next[0])
      this.t = Math.max(this.t, next[1].at)
      next[1].fn()
    }
    this.t = Math.max(this.t, to)
  }

  advance(ms: number): void {
    this.advanceTo(this.t + ms)
  }
}
