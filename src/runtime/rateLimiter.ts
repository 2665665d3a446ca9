/**
 * Per-key token buckets: `ratePerS` requests per second on average, bursts up to `burst`. The clock
 * is injected; idle keys are forgotten once their bucket is full again (memory stays bounded by the
 * keys active in the last `burst / ratePerS` seconds).
 */
export interface RateLimit {
  ratePerS: number
  burst: number
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(limit.ratePerS > 0 && limit.burst >= 1)) throw new RangeError('rate limit needs ratePerS > 0 and burst >= 1')
  }

  /** Whether `key` has a token left, without taking it; if not, how many seconds until it has. */
  peek(key: string): { ok: true } | { ok: false; retryAfterS: number } {
    const b = this.buckets.get(key)
    if (b === undefined) return { ok: true }
    const tokens = Math.min(this.limit.burst, b.tokens + ((this.now() - b.at) / 1000) * this.limit.ratePerS)
    return tokens >= 1 ? { ok: true } : { ok: false, retryAfterS: Math.ceil((1 - tokens) / this.limit.ratePerS) }
  }

  /** Takes a token for `key`; if none is left, how many seconds until one is. */
  take(key: string): { ok: true } | { ok: false; retryAfterS: number } {
    const t = this.now()
    const b = this.buckets.get(key) ?? { tokens: this.limit.burst, at: t }
    b.tokens = Math.min(this.limit.burst, b.tokens + ((t - b.at) / 1000) * this.limit.ratePerS)
    b.at = t
    if (b.tokens < 1) {
      this.buckets.set(key, b)
      return { ok: false, retryAfterS: Math.ceil((1 - b.tokens) / this.limit.ratePerS) }
    }
    b.tokens -= 1
    this.buckets.set(key, b)
    if (this.buckets.size > 10_000) this.sweep(t)
    return { ok: true }
  }

  private sweep(t: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + ((t - b.at) / 1000) * this.limit.ratePerS >= this.limit.burst) this.buckets.delete(k)
  }
}
