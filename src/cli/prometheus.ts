import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { GatewayMetrics, MetricsPage } from '../gateway/metrics.js'
import type { NodeDaemon } from '../node/nodeDaemon.js'
import type { PhaseTimes } from '../round/coordinator.js'

/**
 * Prometheus at the edge: the only place prom-client appears. The gateway and the node are handed
 * small structural interfaces (GatewayMetrics, MetricsPage); counts they already keep (protocol
 * rejections by reason, declines, round endings) are read when scraped.
 */
export interface GatewaySources {
  /** Protocol rejections by reason, summed over every intake this process runs. */
  rejections(): Map<string, number>
  /** Bugs contained (exceptions in handlers), not peers' faults. */
  bugs(): number
  activeRounds(): number
  queuedRounds(): number
  /** With a ledger: rounds settled, and settlements the ledger refused or never took. */
  settlements?(): ReadonlyMap<string, number>
  /** With an outbox: settlements the ledger has not taken yet. */
  owed?(): number
}

const PHASES: [from: keyof PhaseTimes, to: keyof PhaseTimes, name: string][] = [
  ['issued', 'joining', 'join'],
  ['joining', 'committing', 'answer'],
  ['committing', 'revealing', 'reveal'],
  ['revealing', 'verdictCommitting', 'judge'],
  ['verdictCommitting', 'verdictRevealing', 'verdict_reveal'],
  ['issued', 'done', 'total'],
]

/** Buckets up to 20 minutes: a round may last twice --answer-seconds (up to an hour each). */
const SECONDS = [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 30, 60, 120, 300, 600, 1200]

export function gatewayPrometheus(sources: GatewaySources): { metrics: GatewayMetrics; page: MetricsPage } {
  const registry = new Registry()
  const requests = new Histogram({ name: 'chorus_http_request_duration_seconds', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], buckets: SECONDS, registers: [registry] })
  const apiErrors = new Counter({ name: 'chorus_api_errors_total', help: 'API errors returned, by code', labelNames: ['code'], registers: [registry] })
  const rounds = new Counter({ name: 'chorus_rounds_total', help: 'Rounds finished, by result', labelNames: ['result'], registers: [registry] })
  const phases = new Histogram({ name: 'chorus_round_phase_seconds', help: 'Round phase durations', labelNames: ['phase'], buckets: SECONDS, registers: [registry] })
  rejectionCounter(registry, sources.rejections)
  bugCounter(registry, sources.bugs)
  gauge(registry, 'chorus_active_rounds', 'Rounds running now', sources.activeRounds)
  gauge(registry, 'chorus_queued_rounds', 'Requests waiting for a round slot', sources.queuedRounds)
  if (sources.settlements) labelled(registry, 'chorus_settlements_total', 'Rounds sent to the ledger, by result (settled, failed)', 'result', sources.settlements)
  if (sources.owed) gauge(registry, 'chorus_settlements_owed', 'Settlements waiting in the outbox for the ledger', sources.owed)
  return {
    page: pageOf(registry),
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

/** A node's metrics: rounds held, declined and ended, protocol rejections, contained bugs. */
export function nodePrometheus(daemon: NodeDaemon, transportErrors: () => number = () => 0): MetricsPage {
  const registry = new Registry()
  gauge(registry, 'chorus_node_active_rounds', 'Rounds this node holds now', () => daemon.activeRounds)
  gauge(registry, 'chorus_node_capacity', 'Rounds this node holds at most', () => daemon.limits.capacity)
  labelled(registry, 'chorus_node_declined_total', 'Rounds declined, by reason', 'reason', () => daemon.declined)
  labelled(registry, 'chorus_node_rounds_ended_total', 'Rounds left, by how they ended', 'reason', () => daemon.ended)
  rejectionCounter(registry, () => daemon.intake.rejections)
  bugCounter(registry, () => daemon.intake.bugs + transportErrors())
  return pageOf(registry)
}

function pageOf(registry: Registry): MetricsPage {
  return { contentType: registry.contentType, render: () => registry.metrics() }
}

function gauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read())
    },
  })
}

function labelled(registry: Registry, name: string, help: string, label: string, read: () => ReadonlyMap<string, number>): void {
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset()
      for (const [value, n] of read()) this.inc({ [label]: value }, n)
    },
  })
}

function rejectionCounter(registry: Registry, read: () => ReadonlyMap<string, number>): void {
  labelled(registry, 'chorus_protocol_rejections_total', 'Protocol messages dropped, by reason', 'reason', read)
}

function bugCounter(registry: Registry, read: () => number): void {
  new Counter({
    name: 'chorus_handler_errors_total',
    help: 'Exceptions contained in message handlers (bugs here, not peers\' faults)',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(read())
    },
  })
}
