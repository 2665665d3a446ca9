import { ApiError } from './apiError.js'
import { RoundFailedError } from './swarm.js'

/**
 * Bounds the rounds a gateway runs at once (nodes hold a bounded number per gateway; more rounds
 * than they take would fail for want of members) and queues the rest, up to a limit past which it
 * answers 503 at once rather than letting clients pile up.
 */
export class Admission {
  private active = 0
  private readonly queue: { start: () => void }[] = []

  constructor(
    private readonly maxActive: number,
    private readonly maxQueued: number,
  ) {}

  /** True when a new request would be turned away (every slot busy and the queue full). */
  get full(): boolean {
    return this.active >= this.maxActive && this.queue.length >= this.maxQueued
  }

  get running(): number {
    return this.active
  }

  get waiting(): number {
    return this.queue.length
  }

  /** Runs `fn` in a slot; a request whose signal aborts while queued leaves the queue (ABORTED). */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.active >= this.maxActive) {
      if (this.queue.length >= this.maxQueued) throw new ApiError(503, 'service_unavailable', 'the swarm is at capacity; retry shortly', 'overloaded', null, 1)
      if (signal?.aborted) throw new RoundFailedError('ABORTED', 'gave up before a round slot was free')
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const i = this.queue.indexOf(item)
          if (i >= 0) this.queue.splice(i, 1)
          reject(new RoundFailedError('ABORTED', 'gave up before a round slot was free'))
        }
        const item = {
          start: () => {
            signal?.removeEventListener('abort', onAbort)
            resolve()
          },
        }
        this.queue.push(item)
        signal?.addEventListener('abort', onAbort, { once: true })
      })
    } else this.active++
    try {
      return await fn()
    } finally {
      const next = this.queue.shift()
      if (next) next.start()
      else this.active--
    }
  }
}
