import { cpus } from 'node:os'

/**
 * A node runs on its owner's machine: it steps back while the owner is using it. The governor
 * reads how busy the host is apart from this process, stops the node joining new rounds when that
 * stays above `pauseAbove`, and lets it join again once it has fallen to `resumeBelow` (the gap is
 * the hysteresis: a load hovering at one threshold does not flap). Optional quiet hours stop
 * joining at set local hours whatever the load. Rounds already joined are finished either way.
 */
export interface GovernorSettings {
  /** Host busy share (0–1, all cores, this process excluded) at or above which joining stops. */
  pauseAbove: number
  /** Share at or below which joining resumes (below pauseAbove). */
  resumeBelow: number
  /** Consecutive samples over the threshold before pausing (a moment's spike does not count). */
  samplesToPause: number
  /** Local hours [from, to) during which the node joins nothing (to < from wraps past midnight). */
  quietHours?: { from: number; to: number }
}

export type GovernorState = 'joining' | 'paused: busy' | 'paused: quiet hours'

/** The decision, as a pure function of the samples it is given and the hour. */
export class LoadGovernor {
  private busy = false
  private over = 0
  private last: number | undefined

  constructor(private readonly s: GovernorSettings) {
    if (!(s.resumeBelow < s.pauseAbove)) throw new RangeError('resumeBelow must be below pauseAbove')
  }

  /** Takes one sample of the host's busy share (this process excluded). */
  sample(share: number): void {
    this.last = share
    if (share >= this.s.pauseAbove) this.over++
    else this.over = 0
    if (!this.busy && this.over >= this.s.samplesToPause) this.busy = true
    else if (this.busy && share <= this.s.resumeBelow) this.busy = false
  }

  state(hour: number): GovernorState {
    const q = this.s.quietHours
    if (q !== undefined && (q.from <= q.to ? hour >= q.from && hour < q.to : hour >= q.from || hour < q.to)) return 'paused: quiet hours'
    return this.busy ? 'paused: busy' : 'joining'
  }

  /** The last sample (undefined before the first). */
  get lastShare(): number | undefined {
    return this.last
  }
}

/**
 * The host's busy share since the previous call, this process's own CPU taken out: all cores'
 * busy time (os.cpus(), every platform) less what process.cpuUsage() says this process used,
 * over all cores' elapsed time.
 */
export class HostLoadSampler {
  private prev = this.read()

  sample(): number {
    const now = this.read()
    const total = now.total - this.prev.total
    const busy = now.busy - this.prev.busy - (now.own - this.prev.own)
    this.prev = now
    return total <= 0 ? 0 : Math.min(1, Math.max(0, busy / total))
  }

  private read(): { total: number; busy: number; own: number } {
    let total = 0
    let idle = 0
    for (const c of cpus()) {
      const t = c.times
      total += t.user + t.nice + t.sys + t.idle + t.irq
      idle += t.idle
    }
    const u = process.cpuUsage()
    return { total, busy: total - idle, own: (u.user + u.system) / 1_000 }
  }
}

/** Samples every `everyMs` (an unref'd timer) until `signal` aborts; returns whether the node may join now. */
export function runGovernor(governor: LoadGovernor, opts: { everyMs: number; signal: AbortSignal; sampler?: HostLoadSampler; hour?: () => number; onChange?: (s: GovernorState) => void }): () => boolean {
  const sampler = opts.sampler ?? new HostLoadSampler()
  const hour = opts.hour ?? (() => new Date().getHours())
  let state = governor.state(hour())
  const timer = setInterval(() => {
    governor.sample(sampler.sample())
    const next = governor.state(hour())
    if (next !== state) opts.onChange?.(next)
    state = next
  }, opts.everyMs)
  timer.unref()
  opts.signal.addEventListener('abort', () => clearInterval(timer), { once: true })
  return () => governor.state(hour()) === 'joining'
}
