/**
 * Time as an injected port: runtimes read `now()` and set timers through it, so the simulator can
 * run the same runtimes on a virtual clock.
 */
export interface Clock {
  now(): number
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms))
    t.unref?.()
    return () => clearTimeout(t)
  },
}
