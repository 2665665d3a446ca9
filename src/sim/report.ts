import { formatUnits } from '../ledger/amount.js'
import type { ForfeitRule } from '../ledger/settlement.js'
import type { Population } from './population.js'
import { ATTACKS, BEHAVIOURS } from './population.js'
import type { SimResult } from './simulation.js'
import { defenceSurvival } from './behaviours.js'
import { holdsHalf, seatShare, shareOf as share } from './tally.js'
import type { CollusionRow, GrindingRow, SusceptibilityRow, TicketRow } from './sweeps.js'

/**
 * The simulator's report (Markdown): what was assumed, the seed, the swarm's accuracy against
 * majority voting over time, reputation and judge weight by behaviour, what each behaviour earned
 * per round it was seated, and how each attack fared. A pure function of the results: the same
 * seed gives the same report, byte for byte.
 */
export interface BehaviourSummary {
  behaviour: string
  nodes: number
  /** Of them, those that passed their calibration challenge. */
  calibrated: number
  /** Seats they held. */
  joined: number
  /** Net micro-units per seat. */
  perRound: number
  /** The same for its nodes that did not pass calibration (undefined: none of them was seated). */
  perRoundUncalibrated?: number
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
    const unproven = nodes.filter((n) => !n.calibrated)
    const unprovenSeats = unproven.reduce((s, n) => s + n.joined, 0)
    const perRoundUncalibrated = unprovenSeats === 0 ? undefined : Number(unproven.reduce((s, n) => s + n.gain, 0n)) / unprovenSeats
    return [{ behaviour, nodes: nodes.length, calibrated: nodes.filter((n) => n.calibrated).length, joined, perRound, ...(perRoundUncalibrated === undefined ? {} : { perRoundUncalibrated }), roi: perRound / Number(result.ticket) }]
  })
}

/** What each forfeit rule takes, as a report says it. */
const FORFEIT_MEANING: Record<ForfeitRule, string> = {
  unproven: "no-shows and left-out answers forfeit their tickets, and so does a member without judge weight (not calibrated) whose answer is not the winner's; the ledger's default",
  'no-shows': 'only no-shows and left-out answers forfeit their tickets',
  'non-winners': "every member but the winner forfeits its ticket (the whitepaper's rule)",
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`
const units = (micro: number) => formatUnits(BigInt(Math.round(micro)))

/** The assumptions every report names. */
function assumptions(population: Population, seed: string, result: SimResult): string {
  return [
    `A SIMULATION: modelled nodes on the real round code (state machines, signatures, beacons, assignment, aggregation) and a real ledger (SQLite in memory, on a virtual clock) that locks tickets, issues beacons, grades calibration and settles every round, its state carried across rounds.`,
    `Seed \`${seed}\`; ${result.rounds.length} rounds; each round ${population.joiners} nodes drawn at random join and the ledger's members beacon seats ${population.members} of them; ${result.nodes.length} nodes in all.`,
    `Fee ${formatUnits(result.fee)} per round, ticket ${formatUnits(result.ticket)} per seat; forfeit rule \`${result.forfeit}\` (${FORFEIT_MEANING[result.forfeit]}).`,
    result.replayed
      ? `Answers: REPLAYED from recorded outputs of real models (ZeroEval ${result.replayed.task}: ${result.replayed.models.length} models, ${result.replayed.questions} questions, taken in order): each node gives its model's reply (its group's model, or the models in turn node by node), right when its final answer is the gold's; attackers state a near miss of the gold; hidden calibration rounds use the skill model.`
      : `Answers: right with the node's skill, else wrong, and then the round's common wrong answer with probability ${population.correlation}.`,
    `Judges: right on a right-vs-wrong pair with the node's judge accuracy, a coin flip between two right or two wrong answers; judges first take the ledger's calibration challenge the same way.`,
    `Attackers answer wrong on purpose; a judge falls for a dressed answer (injected instructions, flattery, rare tokens) with its group's susceptibility when only one of the pair is dressed, ${result.defences ? `times what of the dressing survives the hostile-text defences judges read through (hidden characters removed, compatibility forms folded: ${ATTACKS.map((a) => `${a} ${defenceSurvival(a).toFixed(2)}`).join(', ')}, a MODELLING assumption)` : 'reading the answers as written (no defences)'}.`,
    `Hidden calibration rounds (known-answer items from the ledger, graded after settlement) follow every 20th client round, as a gateway mixes them in, and are not counted in the accuracy below (${result.hiddenRounds} ran).`,
    `Every judge runs the node's GOOD/BAD prefilter (its text check, real, on the answer texts): an answer most judge weight marks as no genuine attempt is left out and forfeits its ticket (rules 4).`,
    `Not modelled: network delay and loss (the transport is in memory and every phase closes on quorum).`,
  ].join(' ')
}

export interface ChartLinks {
  accuracy?: string
  judgeShare?: string
  reputation?: string
}

export function simReport(scenario: string, population: Population, seed: string, result: SimResult, charts: ChartLinks = {}): string {
  const rs = result.rounds
  const n = rs.length
  const parts = Math.min(10, n)
  const tenths = Array.from({ length: parts }, (_, i) => [Math.floor((i * n) / parts), Math.floor(((i + 1) * n) / parts)] as const)
  const present = BEHAVIOURS.filter((b) => result.nodes.some((x) => x.behaviour === b))
  const traj = result.trajectory
  const marks = [...new Set([0, Math.floor((traj.length - 1) / 2), traj.length - 1])].map((i) => traj[i]!)
  const lines = [
    `# chorus sim: ${scenario}`,
    '',
    assumptions(population, seed, result),
    '',
    '## Population',
    '',
    '| behaviour | nodes | skill | judge accuracy | susceptibility |',
    '|---|---|---|---|---|',
    ...population.groups.map((g) => `| ${g.behaviour} | ${g.count} | ${g.skill} | ${g.judgeAccuracy} | ${g.susceptibility ? Object.entries(g.susceptibility).map(([k, v]) => `${k} ${v}`).join(', ') : '—'} |`),
    '',
    '## Accuracy',
    '',
    `Swarm ${pct(share(rs, (r) => r.swarmRight))}, majority vote ${pct(share(rs, (r) => r.majorityRight))}, ranked rounds ${pct(share(rs, (r) => r.ranked))}; some member had the right answer in ${pct(share(rs, (r) => r.rightPresent))}.`,
    '',
    ...(charts.accuracy ? [`![swarm and majority accuracy over the run](${charts.accuracy})`, ''] : []),
    '| rounds | swarm | majority |',
    '|---|---|---|',
    ...tenths.map(([a, b]) => `| ${a + 1}–${b} | ${pct(share(rs.slice(a, b), (r) => r.swarmRight))} | ${pct(share(rs.slice(a, b), (r) => r.majorityRight))} |`),
    '',
    '## Reputation and judge weight by behaviour',
    '',
    'Mean answerer reputation (0–1) and the behaviour\'s share of all judge weight, after the rounds named.',
    '',
    ...(charts.judgeShare ? [`![judge-weight share by behaviour](${charts.judgeShare})`, ''] : []),
    ...(charts.reputation ? [`![answerer reputation by behaviour](${charts.reputation})`, ''] : []),
    `| behaviour | ${marks.map((m) => `reputation @${m.round}`).join(' | ')} | ${marks.map((m) => `judge weight @${m.round}`).join(' | ')} |`,
    `|---|${marks.map(() => '---|---').join('|')}|`,
    ...present.map((b) => `| ${b} | ${marks.map((m) => (m.reputation[b] ?? 0).toFixed(3)).join(' | ')} | ${marks.map((m) => pct(m.judgeShare[b] ?? 0)).join(' | ')} |`),
    '',
    '## Rewards by behaviour',
    '',
    '| behaviour | nodes | passed calibration | seats | net per seat | of it, uncalibrated nodes | return on the ticket |',
    '|---|---|---|---|---|---|---|',
    ...summarise(result).map((b) => `| ${b.behaviour} | ${b.nodes} | ${b.calibrated} | ${b.joined} | ${units(b.perRound)} | ${b.perRoundUncalibrated === undefined ? '—' : units(b.perRoundUncalibrated)} | ${b.roi.toFixed(2)}× |`),
    '',
    ...attackLines(result),
  ]
  return lines.join('\n')
}

/** What each attack present in the run achieved. */
function attackLines(result: SimResult): string[] {
  const rs = result.rounds
  const out: string[] = []
  const copies = rs.reduce((s, r) => s + r.copies, 0)
  if (copies > 0) {
    const refused = rs.reduce((s, r) => s + r.copiesRefused, 0)
    out.push('## Copiers', '', `Copiers revealed an answer other than the one they committed to ${copies} times (the round's right answer, as if read from another member's reveal); the coordinator refused ${refused} of them (${pct(refused / copies)}) as not matching the commitment, and each refused copier lost its ticket.`, '')
  }
  const left = new Map<string, number>()
  for (const r of rs) for (const [b, n] of Object.entries(r.excluded)) left.set(b, (left.get(b) ?? 0) + (n ?? 0))
  if (left.size > 0) {
    const right = rs.reduce((s, r) => s + r.excludedRight, 0)
    out.push('## The GOOD/BAD prefilter', '', `Answers left out as no genuine attempt (each forfeited its ticket): ${[...left].sort().map(([b, n]) => `${b} ${n}`).join(', ')}; right answers among them: ${right}.`, '')
  }
  const dressed = ATTACKS.filter((a) => rs.some((r) => r.attacks.includes(a)))
  if (dressed.length > 0) {
    out.push('## Dressed answers', '', '| dressing | rounds it was among the answers | rounds it won | share |', '|---|---|---|---|')
    for (const a of dressed) {
      const inRounds = rs.filter((r) => r.attacks.includes(a))
      const won = inRounds.filter((r) => r.winningAttack === a).length
      out.push(`| ${a} | ${inRounds.length} | ${won} | ${pct(won / inRounds.length)} |`)
    }
    out.push('')
  }
  if (result.nodes.some((x) => x.behaviour === 'colluder')) {
    const steered = share(rs, (r) => r.winner === 'colluder' && !r.swarmRight && r.rightPresent)
    out.push(
      '## Colluders',
      '',
      `They held ${pct(seatShare(rs, 'colluder'))} of the seats and won ${pct(share(rs, (r) => r.winner === 'colluder'))} of the rounds; in ${pct(steered)} of the rounds a colluder's wrong answer won although a member had the right one.`,
      '',
    )
    if (rs.some((r) => r.tries > 1) || result.feesForfeited > 0n) {
      out.push(
        '## Grinding coordinator',
        '',
        `It asked ${rs.reduce((s, r) => s + r.tries, 0)} Queries for ${rs.length} questions, abandoning a round whenever the beacon seated fewer than half its friends; it forfeited ${formatUnits(result.feesForfeited)} in fees. Its friends held half the seats or more in ${pct(share(rs, (r) => holdsHalf(r, 'colluder')))} of the rounds that ran.`,
        '',
      )
    }
  }
  return out
}

export function ticketSweepTable(rows: readonly TicketRow[], chart?: string): string {
  const behaviours = [...new Set(rows.flatMap((r) => Object.keys(r.perRound)))]
  return [
    '## Sweep: net per seat, by ticket price and forfeit rule',
    '',
    ...(chart ? [`![Sybil net per seat against ticket price](${chart})`, ''] : []),
    `| ticket | forfeit | ${behaviours.join(' | ')} |`,
    `|---|---|${behaviours.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${formatUnits(r.ticket)} | ${r.forfeit} | ${behaviours.map((b) => units(r.perRound[b] ?? 0)).join(' | ')} |`),
    '',
  ].join('\n')
}

export function collusionTable(rows: readonly CollusionRow[], chart?: string): string {
  return [
    '## Sweep: a colluding group\'s influence against its size',
    '',
    'Steered: rounds whose winner was one of the group\'s wrong answers although a member had the right one — with the group colluding, and on the same draws with the same nodes judging honestly.',
    '',
    ...(chart ? [`![steered rounds against group size](${chart})`, ''] : []),
    '| colluders | share of nodes | share of seats | share of judge weight | steered, colluding | steered, judging honestly | bought by collusion |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.colluders} | ${pct(r.share)} | ${pct(r.seatShare)} | ${pct(r.judgeShare)} | ${pct(r.steered)} | ${pct(r.steeredHonestly)} | ${pct(r.steered - r.steeredHonestly)} |`),
    '',
  ].join('\n')
}

export function susceptibilityTable(rows: readonly SusceptibilityRow[], chart?: string): string {
  const attacks = ATTACKS.filter((a) => rows.some((r) => r.won[a] !== undefined))
  return [
    '## Sweep: dressed answers against judges\' susceptibility',
    '',
    `Each honest judge falls for a dressing (when only one answer of its pair carries it) with the probability in the first column, times what of the dressing survives the hostile-text defences (MODELLED: ${ATTACKS.map((a) => `${a} ${defenceSurvival(a).toFixed(2)}`).join(', ')}); the other columns are the rounds each dressing won among those it was in, with the defences and (raw) with judges reading the answers as written.`,
    '',
    ...(chart ? [`![dressed answers' success against susceptibility](${chart})`, ''] : []),
    `| susceptibility | ${attacks.join(' | ')} | swarm accuracy | majority |`,
    `|---|${attacks.map(() => '---').join('|')}|---|---|`,
    ...rows.map((r) => `| ${r.susceptibility} | ${attacks.map((a) => `${pct(r.won[a] ?? 0)} (raw ${pct(r.raw.won[a] ?? 0)})`).join(' | ')} | ${pct(r.swarm)} (raw ${pct(r.raw.swarm)}) | ${pct(r.majority)} |`),
    '',
  ].join('\n')
}

export function grindingTable(rows: readonly GrindingRow[], chart?: string): string {
  return [
    '## Sweep: a grinding coordinator against the Queries it may spend',
    '',
    'It abandons a round (after the members beacon) while fewer than half the seats went to its friends, up to the number of tries; each abandoned round forfeits its fee when its time to settle runs out.',
    '',
    ...(chart ? [`![friends' seats against tries](${chart})`, ''] : []),
    '| tries | friends\' share of nodes | friends\' share of seats | rounds with half the seats or more | fees forfeited per question |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.tries} | ${pct(r.populationShare)} | ${pct(r.seatShare)} | ${pct(r.packed)} | ${units(r.forfeitedPerQuestion)} |`),
    '',
  ].join('\n')
}
