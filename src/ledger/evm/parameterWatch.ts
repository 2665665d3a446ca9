import type { Governance, ParameterName } from './governance.js'

/**
 * The network's parameters as the chain has them in force, read again every `everyMs`: a gateway
 * or node hears of a change executed by governance and uses it for the rounds it starts after.
 */
export type Parameters = Record<ParameterName, bigint>

export interface ParameterWatchInit {
  everyMs?: number
  /** Called with the parameters whenever any changed (the first read counts as a change). */
  onChange: (params: Parameters, changed: ParameterName[]) => void
  onError?: (err: Error) => void
}

export class ParameterWatch {
  private last: Parameters | undefined
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly governance: Governance,
    private readonly init: ParameterWatchInit,
  ) {}

  get current(): Parameters | undefined {
    return this.last
  }

  /** Reads the chain once; tells `onChange` what changed since the last read. */
  async refresh(): Promise<Parameters> {
    const next = await this.governance.parameters()
    const changed = (Object.keys(next) as ParameterName[]).filter((k) => this.last === undefined || this.last[k] !== next[k])
    this.last = next
    if (changed.length > 0) this.init.onChange(next, changed)
    return next
  }

  start(): void {
    this.timer = setInterval(() => void this.refresh().catch((err: Error) => this.init.onError?.(err)), this.init.everyMs ?? 10_000)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }
}
