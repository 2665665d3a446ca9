import { formatUnits } from '../ledger/amount.js'
import type { Population } from './population.js'
import { BEHAVIOURS } from './population.js'
import type { SimResult } from './simulation.js'

/**
 * The simulator's report (Markdown): what was assumed, the seed, the swarm's accuracy against
 * majority voting over time, and what each behaviour earned per round it joined — its return on
 * the ticket it puts at stake each time. A pure function of the result: the same seed gives the
 * same report, byte for byte.
 */
export interface BehaviourSummary {
  behaviour: string
  nodes: number
  /** Of them, those that passed their calibration challenge. */
  calibrated: number
  joined: number
  /** Net micro-units per round joined. */
  perRound: number
  /** That, over the ticket put at stake each round. */
  roi: number
}

export function summarise(result: SimResult): BehaviourSummary[] {
  return BEHAVIOURS.flatMap((behaviour) => {
    const nodes = result.nodes.filter((n) => n.behaviour === behaviour)
    if (nodes.length === 0) return []
    const joined = nodes.reduce((s, n) => s + n.joined, 0)
    const gain = nodes.reduce((s, n) => s + n.gain, 0n)
    const perRound = joined === 0 ? 0 : Number(gain) / joined
    return [{ behaviour, nodes: nodes.length, calibrated: nodes.filter((n) => n.calibrated).length, joined, perRound, roi: perRound / Number(result.ticket) }]
  })
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`

/** What each behaviour nets per round joined, at each ticket price, under each forfeit rule. */
export interface TicketSweepRow {
  ticket: bigint
  forfeit: string
  perRound: Record<string, number>
}

export function ticketSweepTable(rows: readonly TicketSweepRow[]): string {
  const behaviours = [...new Set(rows.flatMap((r) => Object.keys(r.perRound)))]
  return [
    '## Net per round joined, by ticket price and forfeit rule',
    '',
    `| ticket | forfeit | ${behaviours.join(' | ')} |`,
    `|---|---|${behaviours.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${formatUnits(r.ticket)} | ${r.forfeit} | ${behaviours.map((b) => formatUnits(BigInt(Math.round(r.perRound[b] ?? 0)))).join(' | ')} |`),
    '',
  ].join('\n')
}

export function simReport(scenario: string, population: Population, seed: string, result: SimResult): string {
  const n = result.rounds.length
  const share = (f: (r: SimResult['rounds'][number]) => boolean, from = 0, to = n) => result.rounds.slice(from, to).filter(f).length / Math.max(1, to - from)
  const tenths = Array.from({ length: Math.min(10, n) }, (_, i) => [Math.floor((i * n) / Math.min(10, n)), Math.floor(((i + 1) * n) / Math.min(10, n))] as const)
  const lines = [
    `# chorus sim: ${scenario}`,
    '',
    `A SIMULATION: modelled nodes (answer skill, judge accuracy, behaviour) on the real round code, real signatures, and a real ledger (in memory, virtual clock) that locks tickets, issues beacons and settles every round. Seed \`${seed}\`, ${n} rounds of ${population.members} members drawn from ${result.nodes.length} nodes; fee ${formatUnits(result.fee)}, ticket ${formatUnits(result.ticket)}; wrong answers agree with probability ${population.correlation}; judges take the ledger's calibration challenge first (modelled: each pair judged right with the node's judge accuracy). Not modelled yet: copiers, prompt injection and flattery, no-shows, a grinding coordinator, recorded answers.`,
    '',
    '## Population',
    '',
    '| behaviour | nodes | skill | judge accuracy |',
    '|---|---|---|---|',
    ...population.groups.map((g) => `| ${g.behaviour} | ${g.count} | ${g.skill} | ${g.judgeAccuracy} |`),
    '',
    '## Accuracy',
    '',
    `Swarm ${pct(share((r) => r.swarmRight))}, majority vote ${pct(share((r) => r.majorityRight))}, ranked rounds ${pct(share((r) => r.ranked))}.`,
    '',
    '| rounds | swarm | majority |',
    '|---|---|---|',
    ...tenths.map(([a, b]) => `| ${a + 1}–${b} | ${pct(share((r) => r.swarmRight, a, b))} | ${pct(share((r) => r.majorityRight, a, b))} |`),
    '',
    '## Rewards by behaviour',
    '',
    '| behaviour | nodes | passed calibration | rounds joined | net per round joined | return on the ticket |',
    '|---|---|---|---|---|---|',
    ...summarise(result).map((b) => `| ${b.behaviour} | ${b.nodes} | ${b.calibrated} | ${b.joined} | ${formatUnits(BigInt(Math.round(b.perRound)))} | ${b.roi.toFixed(2)}× |`),
    '',
  ]
  return lines.join('\n')
}
