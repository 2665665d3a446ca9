/**
 * Bounds how many inferences run at once in a process. llama.cpp contexts each get one thread, and
 * the sum of threads running together must not exceed the cores (measured here: four models at two
 * threads each ran 4.4× slower together than in turn), so every in-process model shares one of these.
 */
export class Semaphore {
  private active = 0
  private readonly waiting: (() => void)[] = []

  constructor(readonly permits: number) {
    if (!(permits >= 1)) throw new RangeError('a semaphore needs at least one permit')
  }

  get inUse(): number {
    return this.active
  }

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal)
    try {
      return await fn()
    } finally {
      this.release()
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    if (this.active < this.permits) {
      this.active++
      return Promise.resolve()
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort)
        this.active++
        resolve()
      }
      const onAbort = () => {
        const i = this.waiting.indexOf(grant)
        if (i >= 0) this.waiting.splice(i, 1)
        reject(signal!.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiting.push(grant)
    })
  }

  private release(): void {
    this.active--
    this.waiting.shift()?.()
  }
}
