import type { Estimate } from '../eval/bootstrap.js'
import { accuracyChartSvg, type ChartSeries } from '../eval/chart.js'
import { DEFAULT_SETTLEMENT_RULES, FORFEIT_RULES } from '../ledger/settlement.js'
import { ATTACKS } from './population.js'
import { BEHAVIOURS } from './population.js'
import type { SimResult } from './simulation.js'
import type { CollusionRow, GrindingRow, SusceptibilityRow, TicketRow } from './sweeps.js'

/**
 * The simulator's charts (standalone SVG, the eval charts' code): accuracy over the run,
 * trajectories per behaviour, and one chart per sweep. Points carry no intervals (`lo = hi`):
 * each is one run's count, and the report's tables hold the numbers.
 */
const point = (mean: number): Estimate => ({ mean, lo: mean, hi: mean })

/** Swarm and majority accuracy over the run, in tenths. */
export function accuracyOverRunSvg(scenario: string, result: SimResult): string {
  const n = result.rounds.length
  const parts = Math.min(10, n)
  const bounds = Array.from({ length: parts }, (_, i) => [Math.floor((i * n) / parts), Math.floor(((i + 1) * n) / parts)] as const)
  const of = (f: (r: SimResult['rounds'][number]) => boolean) => bounds.map(([a, b]) => point(result.rounds.slice(a, b).filter(f).length / Math.max(1, b - a)))
  return accuracyChartSvg({
    title: `chorus sim ${scenario}: accuracy over the run (SIMULATION)`,
    xLabel: 'rounds (end of each tenth)',
    yLabel: 'accuracy (%)',
    xs: bounds.map(([, b]) => b),
    series: [
      { label: 'swarm', points: of((r) => r.swarmRight) },
      { label: 'majority vote', points: of((r) => r.majorityRight), dashed: true },
    ],
    references: [],
  })
}

/** A trajectory per behaviour: its share of judge weight, or its mean answerer reputation. */
export function trajectorySvg(scenario: string, result: SimResult, what: 'judgeShare' | 'reputation'): string {
  const present = BEHAVIOURS.filter((b) => result.trajectory.some((p) => p[what][b] !== undefined))
  return accuracyChartSvg({
    title: `chorus sim ${scenario}: ${what === 'judgeShare' ? 'share of judge weight' : 'answerer reputation'} by behaviour (SIMULATION)`,
    xLabel: 'rounds',
    yLabel: what === 'judgeShare' ? 'share of all judge weight (%)' : 'mean reputation (%)',
    xs: result.trajectory.map((p) => p.round),
    series: present.map((b): ChartSeries => ({ label: b, points: result.trajectory.map((p) => point(p[what][b] ?? 0)) })),
    references: [],
  })
}

/** What a behaviour nets per seat against the ticket price, under each forfeit rule (units of the fee's currency). */
export function ticketSvg(rows: readonly TicketRow[], behaviour: string): string {
  const tickets = [...new Set(rows.map((r) => r.ticket))]
  // The default rule solid, the others dashed.
  const series = FORFEIT_RULES.map(
    (forfeit): ChartSeries => ({ label: `${behaviour}, ${forfeit} forfeit`, points: tickets.map((t) => point((rows.find((r) => r.ticket === t && r.forfeit === forfeit)?.perRound[behaviour] ?? 0) / 1e6)), ...(forfeit === DEFAULT_SETTLEMENT_RULES.forfeit ? {} : { dashed: true }) }),
  )
  return accuracyChartSvg({
    title: `chorus sim: ${behaviour} net per seat against ticket price (SIMULATION)`,
    xLabel: 'ticket (units; the fee is 1)',
    yLabel: 'net per seat (units)',
    xs: tickets.map((t) => Number(t) / 1e6),
    series,
    references: [{ label: 'break-even', value: 0 }],
    scale: 'linear',
  })
}

export function collusionSvg(rows: readonly CollusionRow[]): string {
  return accuracyChartSvg({
    title: 'chorus sim: rounds a colluding group steered to a wrong answer, against its size (SIMULATION)',
    xLabel: 'colluders (of the population)',
    yLabel: 'steered rounds (%)',
    xs: rows.map((r) => r.colluders),
    series: [
      { label: 'colluding', points: rows.map((r) => point(r.steered)) },
      { label: 'judging honestly', points: rows.map((r) => point(r.steeredHonestly)), dashed: true },
      { label: 'share of seats', points: rows.map((r) => point(r.seatShare)), dashed: true },
    ],
    references: [],
  })
}

export function susceptibilitySvg(rows: readonly SusceptibilityRow[]): string {
  const attacks = ATTACKS.filter((a) => rows.some((r) => r.won[a] !== undefined))
  return accuracyChartSvg({
    title: "chorus sim: dressed answers' wins against judges' susceptibility (SIMULATION)",
    xLabel: 'susceptibility of every honest judge',
    yLabel: 'rounds won, of those it was in (%)',
    xs: rows.map((r) => r.susceptibility),
    series: [...attacks.map((a): ChartSeries => ({ label: a, points: rows.map((r) => point(r.won[a] ?? 0)) })), { label: 'swarm accuracy', points: rows.map((r) => point(r.swarm)), dashed: true }],
    references: [],
  })
}

export function grindingSvg(rows: readonly GrindingRow[]): string {
  return accuracyChartSvg({
    title: "chorus sim: a grinding coordinator's friends' seats against its tries (SIMULATION)",
    xLabel: 'Queries it may spend per question',
    yLabel: 'share (%)',
    xs: rows.map((r) => r.tries),
    series: [
      { label: "friends' share of seats", points: rows.map((r) => point(r.seatShare)) },
      { label: 'rounds they held half', points: rows.map((r) => point(r.packed)), dashed: true },
    ],
    references: rows.length > 0 ? [{ label: "friends' share of nodes", value: rows[0]!.populationShare }] : [],
  })
}
