import { FORFEIT_RULES, type ForfeitRule } from '../ledger/settlement.js'
import { summarise } from './report.js'
import { ATTACKS, type Attack, type Population } from './population.js'
import type { RecordedTask } from '../eval/zeroeval.js'
import { runSimulation, type SimOptions, type SimResult } from './simulation.js'
import { holdsHalf, seatShare, shareOf as share } from './tally.js'

/**
 * The simulator's sweeps: one scenario run again with one thing varied, each run on the same seed
 * (so the runs differ only by what was varied). Each returns rows the report tabulates and charts.
 */
export interface SweepBase {
  population: Population
  rounds: number
  seed: string
  /** Recorded outputs to replay, as in the run swept. */
  recorded?: RecordedTask
  onRun?: (label: string) => void
}

/** One run of the sweep: the base's seed, rounds and answers, the population and options given. */
const runOf = (base: SweepBase, o: Partial<SimOptions> = {}) => runSimulation({ population: base.population, rounds: base.rounds, seed: base.seed, ...(base.recorded ? { recorded: base.recorded } : {}), ...o })


/** What each behaviour nets per round it was seated, at each ticket price, under each forfeit rule (the default first). */
export interface TicketRow {
  ticket: bigint
  forfeit: ForfeitRule
  perRound: Record<string, number>
}

export function ticketSweep(base: SweepBase, tickets: readonly bigint[]): TicketRow[] {
  return tickets.flatMap((ticket) =>
    FORFEIT_RULES.map((forfeit) => {
      base.onRun?.(`ticket ${ticket} µ, ${forfeit} forfeit`)
      const r = runOf(base, { ticket, forfeit })
      return { ticket, forfeit, perRound: Object.fromEntries(summarise(r).map((b) => [b.behaviour, b.perRound])) }
    }),
  )
}

/**
 * A colluding group's influence against its size: rounds whose winner was a colluder's wrong
 * answer while some member had the right one ("steered"), with the group colluding and, on the same
 * draws, with the same nodes judging honestly — the difference is what collusion bought.
 */
export interface CollusionRow {
  colluders: number
  /** The group's share of the population. */
  share: number
  steered: number
  steeredHonestly: number
  /** The group's share of the calibrated judge weight at the end. */
  judgeShare: number
  /** The group's share of the seats. */
  seatShare: number
}

export function collusionSweep(base: SweepBase, sizes: readonly number[]): CollusionRow[] {
  const template = base.population.groups.find((g) => g.behaviour === 'colluder') ?? { behaviour: 'colluder' as const, count: 0, skill: 0.5, judgeAccuracy: 0.8 }
  const others = base.population.groups.filter((g) => g.behaviour !== 'colluder')
  const total = base.population.groups.reduce((n, g) => n + g.count, 0)
  // The group is the population's last `size` nodes (its group comes last), whether it colludes or not.
  const steeredIn = (r: SimResult, size: number) => share(r.rounds, (x) => x.winnerIndex >= r.nodes.length - size && !x.swarmRight && x.rightPresent)
  return sizes.map((size) => {
    // The colluders replace honest nodes, so the population keeps its size.
    const honest = others.map((g, i) => (i === 0 ? { ...g, count: g.count - (size - template.count) } : g)).filter((g) => g.count > 0)
    const run = (behaviour: 'colluder' | 'honest') => {
      base.onRun?.(`${size} ${behaviour === 'colluder' ? 'colluding' : 'honest-judging'}`)
      const groups = size === 0 ? honest : [...honest, { ...template, behaviour, count: size }]
      return runOf(base, { population: { ...base.population, groups } })
    }
    const colluding = run('colluder')
    const honestly = size === 0 ? colluding : run('honest')
    return {
      colluders: size,
      share: size / total,
      steered: steeredIn(colluding, size),
      steeredHonestly: steeredIn(honestly, size),
      judgeShare: colluding.trajectory.at(-1)!.judgeShare.colluder ?? 0,
      seatShare: seatShare(colluding.rounds, 'colluder'),
    }
  })
}

/** Dressed answers' success against how susceptible every honest judge is: rounds each dressing won among those it was in. */
export interface SusceptibilityRow {
  susceptibility: number
  won: Partial<Record<Attack, number>>
  swarm: number
  majority: number
  /** The same runs with judges reading the answers raw, without the hostile-text defences. */
  raw: { won: Partial<Record<Attack, number>>; swarm: number }
}

export function susceptibilitySweep(base: SweepBase, values: readonly number[]): SusceptibilityRow[] {
  return values.map((s) => {
    base.onRun?.(`susceptibility ${s}`)
    const groups = base.population.groups.map((g) => (g.behaviour === 'honest' ? { ...g, susceptibility: Object.fromEntries(ATTACKS.map((a) => [a, s])) } : g))
    const r = runOf(base, { population: { ...base.population, groups } })
    const raw = runOf(base, { population: { ...base.population, groups }, defences: false })
    return { susceptibility: s, won: wonBy(r), swarm: share(r.rounds, (x) => x.swarmRight), majority: share(r.rounds, (x) => x.majorityRight), raw: { won: wonBy(raw), swarm: share(raw.rounds, (x) => x.swarmRight) } }
  })
}

/** Rounds each dressing won among the rounds it was in. */
function wonBy(r: SimResult): Partial<Record<Attack, number>> {
  const won: Partial<Record<Attack, number>> = {}
  for (const a of ATTACKS) {
    const present = r.rounds.filter((x) => x.attacks.includes(a))
    if (present.length > 0) won[a] = share(present, (x) => x.winningAttack === a)
  }
  return won
}

/** A grinding coordinator against how many Queries it may spend per question. */
export interface GrindingRow {
  tries: number
  /** The friends' share of the seats, and of the population. */
  seatShare: number
  populationShare: number
  /** Rounds where the friends held at least half the seats. */
  packed: number
  /** Fees forfeited per question, micro-units. */
  forfeitedPerQuestion: number
}

export function grindingSweep(base: SweepBase, tries: readonly number[]): GrindingRow[] {
  const total = base.population.groups.reduce((n, g) => n + g.count, 0)
  const friends = base.population.groups.filter((g) => g.behaviour === 'colluder').reduce((n, g) => n + g.count, 0)
  return tries.map((k) => {
    base.onRun?.(`${k} tries`)
    const r = runOf(base, { population: { ...base.population, grinder: { tries: k } } })
    return {
      tries: k,
      seatShare: seatShare(r.rounds, 'colluder'),
      populationShare: friends / total,
      packed: share(r.rounds, (x) => holdsHalf(x, 'colluder')),
      forfeitedPerQuestion: Number(r.feesForfeited) / Math.max(1, r.rounds.length),
    }
  })
}
