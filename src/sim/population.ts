/**
 * A simulated network's population (`chorus sim --population FILE`, JSON): groups of modelled
 * nodes, each with a behaviour, an answer skill (probability of the right final answer) and a
 * judge accuracy (probability of preferring the right answer of a right-vs-wrong pair). Wrong
 * answers are correlated: with probability `correlation` a wrong node gives the round's common
 * wrong answer, which is what defeats plain voting.
 */
export const BEHAVIOURS = ['honest', 'lazy', 'sybil', 'colluder', 'copier', 'injector', 'flatterer', 'gibberish', 'no-show'] as const
export type Behaviour = (typeof BEHAVIOURS)[number]

/** What an attacker's answer carries to sway judges (behaviours.ts writes each). */
export const ATTACKS = ['injection', 'flattery', 'rareTokens'] as const
export type Attack = (typeof ATTACKS)[number]

export interface Group {
  behaviour: Behaviour
  count: number
  skill: number
  judgeAccuracy: number
  /** With recorded outputs replayed: the model whose replies the group gives (default: the models in turn, node by node). */
  model?: string
  /** As a judge: the chance of preferring an answer that carries the attack over one that does not. */
  susceptibility?: Partial<Record<Attack, number>>
}

export interface Population {
  groups: Group[]
  /** Members seated in each round. */
  members: number
  /**
   * Nodes that join each round's Query (default: `members`); when more join than are seated, the
   * ledger's beacon picks the members among them, as on a live network.
   */
  joiners: number
  correlation: number
  /**
   * A grinding coordinator: it wants the colluders seated, and abandons a round whose members
   * beacon seated fewer than half of them, asking again, up to `tries` Queries per question.
   */
  grinder?: { tries: number }
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
    if (g.model !== undefined && (typeof g.model !== 'string' || g.model.length === 0 || g.model.length > 200)) throw new Error(`group ${i}: model is a model's name in the recorded data`)
    if (g.susceptibility !== undefined) {
      if (typeof g.susceptibility !== 'object' || g.susceptibility === null) throw new Error(`group ${i}: susceptibility is {${ATTACKS.join(', ')}}`)
      for (const [k, v] of Object.entries(g.susceptibility)) {
        if (!(ATTACKS as readonly string[]).includes(k)) throw new Error(`group ${i}: susceptibility names ${ATTACKS.join(', ')} (not ${k})`)
        if (!probability(v)) throw new Error(`group ${i}: susceptibility.${k} is a probability (0 to 1)`)
      }
    }
  }
  const total = p.groups.reduce((n, g) => n + g.count, 0)
  const members = p.members ?? 7
  if (!Number.isInteger(members) || members < 3 || members > Math.min(total, 1_000)) throw new Error(`members is a whole number from 3 to ${Math.min(total, 1_000)} (the population has ${total})`)
  const joiners = p.joiners ?? members
  if (!Number.isInteger(joiners) || joiners < members || joiners > Math.min(total, 2_000)) throw new Error(`joiners is a whole number from members (${members}) to ${Math.min(total, 2_000)}`)
  const correlation = p.correlation ?? 0.5
  if (!probability(correlation)) throw new Error('correlation is a probability (0 to 1)')
  let grinder: Population['grinder']
  if (p.grinder !== undefined) {
    if (!Number.isInteger(p.grinder?.tries) || p.grinder.tries < 1 || p.grinder.tries > 100) throw new Error('grinder is {tries}, a whole number from 1 to 100')
    if (joiners === members) throw new Error('a grinder needs more joiners than members (otherwise every joiner is seated)')
    grinder = { tries: p.grinder.tries }
  }
  return {
    groups: p.groups.map((g) => ({ behaviour: g.behaviour, count: g.count, skill: g.skill, judgeAccuracy: g.judgeAccuracy, ...(g.model !== undefined ? { model: g.model } : {}), ...(g.susceptibility ? { susceptibility: { ...g.susceptibility } } : {}) })),
    members,
    joiners,
    correlation,
    ...(grinder ? { grinder } : {}),
  }
}

/** The standard scenarios' populations (sweeps.ts varies them). */
export const SCENARIOS: Record<string, Population> = {
  /** Capable honest nodes, a few lazy ones. */
  baseline: { members: 7, joiners: 7, correlation: 0.5, groups: [{ behaviour: 'honest', count: 40, skill: 0.7, judgeAccuracy: 0.8 }, { behaviour: 'lazy', count: 5, skill: 0, judgeAccuracy: 0.5 }] },
  /** A farm of weak identities of one model beside honest nodes. */
  sybil: { members: 7, joiners: 7, correlation: 0.8, groups: [{ behaviour: 'honest', count: 30, skill: 0.7, judgeAccuracy: 0.8 }, { behaviour: 'sybil', count: 30, skill: 0.2, judgeAccuracy: 0.5 }] },
  /** A colluding group that always prefers its own answers. */
  collusion: { members: 7, joiners: 7, correlation: 0.5, groups: [{ behaviour: 'honest', count: 35, skill: 0.7, judgeAccuracy: 0.8 }, { behaviour: 'colluder', count: 10, skill: 0.5, judgeAccuracy: 0.8 }] },
  /** Copiers, which try to reveal an answer they did not commit to. */
  copier: { members: 7, joiners: 7, correlation: 0.5, groups: [{ behaviour: 'honest', count: 40, skill: 0.7, judgeAccuracy: 0.8 }, { behaviour: 'copier', count: 10, skill: 0, judgeAccuracy: 0.5 }] },
  /** Wrong answers that tell the judges they are right, flatter them, or carry rare tokens, before judges that sometimes fall for it. */
  injection: {
    members: 7,
    joiners: 7,
    correlation: 0.5,
    groups: [
      { behaviour: 'honest', count: 36, skill: 0.7, judgeAccuracy: 0.8, susceptibility: { injection: 0.2, flattery: 0.2, rareTokens: 0.2 } },
      { behaviour: 'injector', count: 3, skill: 0, judgeAccuracy: 0.8 },
      { behaviour: 'flatterer', count: 3, skill: 0, judgeAccuracy: 0.8 },
      { behaviour: 'gibberish', count: 3, skill: 0, judgeAccuracy: 0.8 },
    ],
  },
  /** A coordinator that abandons rounds until its friends hold half the seats. */
  grinding: { members: 7, joiners: 14, correlation: 0.5, grinder: { tries: 8 }, groups: [{ behaviour: 'honest', count: 35, skill: 0.7, judgeAccuracy: 0.8 }, { behaviour: 'colluder', count: 10, skill: 0.5, judgeAccuracy: 0.8 }] },
}
