import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { PhaseTimes } from '../round/coordinator.js'

/**
 * What the gateway reports, as a small structural interface (null-safe: pass nothing and nothing
 * is measured). The Prometheus implementation below is the only place prom-client appears.
 */
export interface GatewayMetrics {
  request(route: string, status: number, seconds: number): void
  apiError(code: string): void
  round(result: 'ok' | 'failed', times: PhaseTimes | undefined): void
}

export interface MetricSources {
  /** Protocol rejections by reason, summed over every intake this process runs. */
  rejections(): Map<string, number>
  activeRounds(): number
  queuedRounds(): number
}

const PHASES: [from: keyof PhaseTimes, to: keyof PhaseTimes, name: string][] = [
  ['issued', 'joining', 'join'],
  ['joining', 'committing', 'answer'],
  ['committing', 'revealing', 'reveal'],
  ['revealing', 'verdictCommitting', 'judge'],
  ['verdictCommitting', 'verdictRevealing', 'verdict_reveal'],
  ['issued', 'done', 'total'],
]

export function createPrometheusMetrics(sources: MetricSources): { metrics: GatewayMetrics; registry: Registry } {
  const registry = new Registry()
  const requests = new Histogram({
    name: 'chorus_http_request_duration_seconds',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'status'],
    buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60],
    registers: [registry],
  })
  const apiErrors = new Counter({ name: 'chorus_api_errors_total', help: 'API errors returned, by code', labelNames: ['code'], registers: [registry] })
  const rounds = new Counter({ name: 'chorus_rounds_total', help: 'Rounds finished, by result', labelNames: ['result'], registers: [registry] })
  const phases = new Histogram({
    name: 'chorus_round_phase_seconds',
    help: 'Round phase durations',
    labelNames: ['phase'],
    buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60, 300],
    registers: [registry],
  })
  new Counter({
    name: 'chorus_protocol_rejections_total',
    help: 'Protocol messages dropped, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [reason, n] of sources.rejections()) this.inc({ reason }, n)
    },
  })
  new Gauge({
    name: 'chorus_active_rounds',
    help: 'Rounds running now',
    registers: [registry],
    collect() {
      this.set(sources.activeRounds())
    },
  })
  new Gauge({
    name: 'chorus_queued_rounds',
    help: 'Requests waiting for a round slot',
    registers: [registry],
    collect() {
      this.set(sources.queuedRounds())
    },
  })
  return {
    registry,
    metrics: {
      request: (route, status, seconds) => requests.observe({ route, status: String(status) }, seconds),
      apiError: (code) => apiErrors.inc({ code }),
      round(result, times) {
        rounds.inc({ result })
        if (times === undefined) return
        for (const [from, to, phase] of PHASES) {
          const a = times[from]
          const b = times[to]
          if (a !== undefined && b !== undefined) phases.observe({ phase }, (b - a) / 1000)
        }
      },
    },
  }
}
