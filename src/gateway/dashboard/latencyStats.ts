/**
 * Latency and throughput over the rounds a gateway keeps: p50 and p95 of every phase and of the
 * whole round, and rounds per minute over the span they cover. Nearest-rank percentiles, so each
 * figure is a time some round really took.
 */
export const PHASES = ['join', 'answer', 'reveal', 'judge', 'verdict_reveal', 'total'] as const
export type PhaseName = (typeof PHASES)[number]

export interface TimedRound {
  finishedAt: number
  phases: Partial<Record<PhaseName, number | null>>
}

export interface LatencyStats {
  rounds: number
  per_phase: Record<PhaseName, { p50: number | null; p95: number | null; n: number }>
  /** Rounds finished per minute between the oldest and the newest kept (null under two rounds). */
  rounds_per_minute: number | null
}

export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!
}

export function latencyStats(rounds: readonly TimedRound[]): LatencyStats {
  const per = {} as LatencyStats['per_phase']
  for (const phase of PHASES) {
    const xs = rounds.map((r) => r.phases[phase]).filter((x): x is number => typeof x === 'number').sort((a, b) => a - b)
    per[phase] = { p50: percentile(xs, 0.5), p95: percentile(xs, 0.95), n: xs.length }
  }
  const times = rounds.map((r) => r.finishedAt)
  const span = times.length < 2 ? 0 : Math.max(...times) - Math.min(...times)
  return { rounds: rounds.length, per_phase: per, rounds_per_minute: span > 0 ? ((rounds.length - 1) * 60_000) / span : null }
}
