import type { ModelBackend } from '../models/backend.js'

/**
 * Whether a node's model can serve. A backend with a `check` is checked at start and then every
 * `everyMs`; while it fails, the node stays out of rounds (joining one it cannot answer would only
 * forfeit its ticket). Changes are reported through `onChange`.
 */
export class BackendHealth {
  healthy = true
  lastError: string | undefined
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly backend: ModelBackend,
    private readonly onChange: (healthy: boolean, error?: string) => void = () => {},
    private readonly everyMs = 5000,
  ) {}

  async start(): Promise<void> {
    await this.probe()
    this.timer = setInterval(() => void this.probe(), this.everyMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private async probe(): Promise<void> {
    if (this.backend.check === undefined) return
    let error: string | undefined
    try {
      await this.backend.check()
    } catch (err) {
      error = (err as Error).message
    }
    const healthy = error === undefined
    this.lastError = error
    if (healthy !== this.healthy) {
      this.healthy = healthy
      this.onChange(healthy, error)
    }
  }
}
