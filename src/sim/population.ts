/**
 * A simulated network's population (`chorus sim --population FILE`, JSON): groups of modelled
 * nodes, each with a behaviour, an answer skill (probability of the right final answer) and a
 * judge accuracy (probability of preferring the right answer of a right-vs-wrong pair). Wrong
 * answers are correlated: with probability `correlation` a wrong node gives the round's common
 * wrong answer, which is what defeats plain voting.
 */
export const BEHAVIOURS = ['honest', 'lazy', 'sybil', 'colluder', 'no-show'] as const
export type Behaviour = (typeof BEHAVIOURS)[number]

export interface Group {
  behaviour: Behaviour
  count: number
  skill: number
  judgeAccuracy: number
}

export interface Population {
  groups: Group[]
  /** Members drawn for each round. */
  members: number
  correlation: number
}

const probability = (x: unknown) => typeof x === 'number' && x >= 0 && x <= 1

/** Checks a parsed population file; throws with what is wrong. */
export function parsePopulation(raw: unknown): Population {
  const p = raw as Partial<Population>
  if (typeof p !== 'object' || p === null || !Array.isArray(p.groups) || p.groups.length === 0) throw new Error('a population is {groups: [{behaviour, count, skill, judgeAccuracy}…], members, correlation}')
  for (const [i, g] of p.groups.entries()) {
    if (!BEHAVIOURS.includes(g.behaviour)) throw new Error(`group ${i}: behaviour is one of ${BEHAVIOURS.join(', ')}`)
    if (!Number.isInteger(g.count) || g.count < 1 || g.count > 100_000) throw new Error(`group ${i}: count is a whole number from 1 to 100 000`)
    if (!probability(g.skill) || !probability(g.judgeAccuracy)) throw new Error(`group ${i}: skill and judgeAccuracy are probabilities (0 to 1)`)
  }
  const total = p.groups.reduce((n, g) => n + g.count, 0)
  const members = p.members ?? 7
  if (!Number.isInteger(members) || members < 3 || members > Math.min(total, 200)) throw new Error(`members is a whole number from 3 to ${Math.min(total, 200)} (the population has ${total})`)
  const correlation = p.correlation ?? 0.5
  if (!probability(correlation)) throw new Error('correlation is a probability (0 to 1)')
  return { groups: p.groups.map((g) => ({ behaviour: g.behaviour, count: g.count, skill: g.skill, judgeAccuracy: g.judgeAccuracy })), members, correlation }
}

/** The standard scenarios' populations. */
export const SCENARIOS: Record<string, Population> = {
  /** Capable honest nodes, a few lazy ones. */
  baseline: { members: 7, correlation: 0.5, groups: [{ behaviour: 'honest', count: 40, skill: 0.7, judgeAccuracy: 0.8 }, { behaviour: 'lazy', count: 5, skill: 0, judgeAccuracy: 0.5 }] },
  /** A farm of weak identities of one model beside honest nodes. */
  sybil: { members: 7, correlation: 0.8, groups: [{ behaviour: 'honest', count: 30, skill: 0.7, judgeAccuracy: 0.8 }, { behaviour: 'sybil', count: 30, skill: 0.2, judgeAccuracy: 0.5 }] },
  /** A colluding group that always prefers its own answers. */
  collusion: { members: 7, correlation: 0.5, groups: [{ behaviour: 'honest', count: 35, skill: 0.7, judgeAccuracy: 0.8 }, { behaviour: 'colluder', count: 10, skill: 0.5, judgeAccuracy: 0.8 }] },
}
