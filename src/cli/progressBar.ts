/**
 * Progress on stderr. On a terminal: one bar redrawn in place, with rate and time left. Elsewhere
 * (logs, CI): with `lines`, a line at every tenth of the way; without, nothing.
 */
export class ProgressBar {
  private readonly start = performance.now()
  private lastTenth = -1

  constructor(
    private readonly label: string,
    private readonly opts: { lines?: boolean; stream?: NodeJS.WriteStream } = {},
  ) {}

  private get stream(): NodeJS.WriteStream {
    return this.opts.stream ?? process.stderr
  }

  update(done: number, total: number, detail = ''): void {
    const elapsed = (performance.now() - this.start) / 1000
    if (!this.stream.isTTY) {
      const tenth = total === 0 ? 10 : Math.floor((10 * done) / total)
      if (this.opts.lines && tenth !== this.lastTenth) {
        this.lastTenth = tenth
        this.stream.write(`${this.label}: ${done}/${total} (${formatSeconds(elapsed)})\n`)
      }
      return
    }
    const width = 24
    const filled = total === 0 ? width : Math.round((width * done) / total)
    const rate = done > 0 ? elapsed / done : undefined
    const left = rate === undefined ? '' : ` · ${formatSeconds(rate * (total - done))} left`
    this.stream.write(`\r\x1b[K${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}${left}${detail ? ` · ${detail}` : ''}`)
  }

  /** Clears the bar (on a terminal). */
  finish(): void {
    if (this.stream.isTTY) this.stream.write('\r\x1b[K')
  }
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`
  const m = Math.floor(s / 60)
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`
}
