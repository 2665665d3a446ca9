import type { PhaseTimes } from '../round/coordinator.js'

/**
 * What the gateway reports, as small structural interfaces: pass nothing and nothing is measured.
 * The Prometheus implementation lives at the edge (cli/prometheus.ts), the only place prom-client
 * appears.
 */
export interface GatewayMetrics {
  request(route: string, status: number, seconds: number): void
  apiError(code: string): void
  round(result: 'ok' | 'failed', times: PhaseTimes | undefined): void
}

/** A metrics exposition page, served at GET /metrics. */
export interface MetricsPage {
  readonly contentType: string
  render(): Promise<string>
}

export const noMetrics: GatewayMetrics = { request() {}, apiError() {}, round() {} }
