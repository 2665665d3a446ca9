import type { Verdict } from '../protocol/messages.js'
import type { RoundOutcome } from '../round/outcome.js'
import { type Micro, splitLargestRemainder } from './amount.js'

/**
 * Who pays and who is paid when a round settles (DESIGN.md §3 step 9, §6), as a pure function of
 * what its verified transcript establishes. The pool is the round's fee plus every forfeited
 * ticket. 70 % goes to the top-ranked half of the answerers in proportion to strength^1.5
 * (strength = e^score, so ∝ e^(1.5·score)), 30 % to the judges in proportion to their ledger
 * weight times the verdicts they gave. A member that did not reveal a sealed answer (no-show, or a
 * reveal that did not open its commit, which the coordinator never seals) forfeits its ticket; so
 * does a member whose answer the judges' GOOD/BAD marks left out (rules 4 on: not a genuine
 * attempt). Beyond that the forfeit rule decides: under 'unproven' (the default) a member the
 * ledger gives no judge weight (it has not proven capability, or its record fell to chance) forfeits
 * unless its answer is the winner's; under the whitepaper's 'non-winners' every member but the
 * winner forfeits. Everyone else gets its ticket back. All sums are exact: the shares of the pool
 * add up to the pool, to the micro-unit.
 *
 * Why 'unproven' is the default: the simulator found that under 'no-shows' alone a farm of weak
 * identities that never pass calibration nets a profit at any ticket price (its genuine answers
 * always get their tickets back and sometimes rank in the paid half). Putting at risk only the
 * tickets of unproven members whose answers lose makes such a farm pay, while every node that
 * has proven capability keeps the gentler rule (docs/sim/sybil.md).
 */
export interface SettlementRules {
  /** Answerers' share of the pool, in basis points (the rest goes to judges). */
  answererShareBp: number
  /** Which answerers are rewarded: the top share of them by rank, in basis points (at least one). */
  rewardedShareBp: number
  /** Rewards ∝ strength^(exponentMilli / 1000). */
  exponentMilli: number
  /**
   * 'no-shows': only members that revealed nothing (or whose answers the prefilter left out)
   * forfeit; 'unproven': also members without judge weight whose answer is not the winner's;
   * 'non-winners': every member but the winner (the whitepaper's rule).
   */
  forfeit: ForfeitRule
}

export const FORFEIT_RULES = ['unproven', 'no-shows', 'non-winners'] as const
export type ForfeitRule = (typeof FORFEIT_RULES)[number]

/** The reference's values, with the forfeit rule the simulator argued for ('unproven'). */
export const DEFAULT_SETTLEMENT_RULES: SettlementRules = { answererShareBp: 7000, rewardedShareBp: 5000, exponentMilli: 1500, forfeit: 'unproven' }

/**
 * The ticket a network's default terms ask of each member, as a share of the round's fee (basis
 * points): a quarter. In the simulator (docs/sim/sybil.md) that is about where, under the
 * 'unproven' rule, a farm of weak uncalibrated identities starts to lose money while honest nodes
 * that have not passed calibration still gain in every standard scenario; at a ticket equal to the
 * fee they lose in some.
 */
export const DEFAULT_TICKET_OF_FEE_BP = 2_500n

/** What a verified transcript establishes about a round. */
export interface RoundFacts {
  coordinator: string
  fee: Micro
  ticket: Micro
  /** Nodes whose Join was sealed. */
  joiners: readonly string[]
  /** The joiners selected as members. */
  members: readonly string[]
  /** Members whose answer was sealed in RevealsSealed. */
  revealed: readonly string[]
  /** Members whose answer is the winner's (equivalent final answers count as one). */
  winners: readonly string[]
  outcome: RoundOutcome
  verdicts: readonly { judge: string; verdicts: readonly Verdict[] }[]
}

export interface Settlement {
  /** The fee plus the forfeited tickets: what is paid out. */
  pool: Micro
  /** Tickets forfeited, by node. */
  forfeits: Map<string, Micro>
  /** Tickets returned, by node (members that revealed, joiners not selected). */
  unlocks: Map<string, Micro>
  /** What each node earns, as answerer and judge together. */
  rewards: Map<string, Micro>
}

/**
 * `judgeWeight` is each judge's weight at the round's ledger head, in micro-units (0: not a
 * judge); `ticketHeld(node)` is what the ledger holds of the node's ticket (a node cannot forfeit
 * more than it staked).
 */
export function settle(facts: RoundFacts, rules: SettlementRules, judgeWeight: (node: string) => bigint, ticketHeld: (node: string) => Micro = () => facts.ticket): Settlement {
  const revealed = new Set(facts.revealed)
  const members = new Set(facts.members)
  const excluded = new Set(facts.outcome.excluded)
  const winners = new Set(facts.winners)
  const lost = (j: string) =>
    rules.forfeit === 'non-winners' ? j !== facts.outcome.winner : rules.forfeit === 'unproven' ? !winners.has(j) && judgeWeight(j) === 0n : false
  const forfeits = new Map<string, Micro>()
  const unlocks = new Map<string, Micro>()
  for (const j of facts.joiners) {
    const held = ticketHeld(j)
    const forfeit = members.has(j) && (!revealed.has(j) || excluded.has(j) || lost(j))
    if (held > 0n) (forfeit ? forfeits : unlocks).set(j, held)
  }
  const pool = facts.fee + [...forfeits.values()].reduce((a, x) => a + x, 0n)
  const rewards = new Map<string, Micro>()
  const add = (node: string, x: Micro) => x > 0n && rewards.set(node, (rewards.get(node) ?? 0n) + x)
  if (pool === 0n) return { pool, forfeits, unlocks, rewards }

  const judged = judgeShares(facts, judgeWeight)
  const answererPool = judged.length === 0 ? pool : (pool * BigInt(rules.answererShareBp)) / 10_000n
  const judgePool = pool - answererPool
  const answerers = rewardedAnswerers(facts.outcome, rules)
  splitLargestRemainder(answererPool, answerers.map((a) => a.weight)).forEach((x, i) => add(answerers[i]!.node, x))
  if (judgePool > 0n) splitLargestRemainder(judgePool, judged.map((j) => j.weight)).forEach((x, i) => add(judged[i]!.node, x))
  return { pool, forfeits, unlocks, rewards }
}

/**
 * The top share of the ranking, weighted e^(exponent·(score − best score)) in parts per 10⁹ (so
 * the best weighs 10⁹ and the weights stay integers; at least 1 each). Unranked: the winner alone.
 */
function rewardedAnswerers(o: RoundOutcome, rules: SettlementRules): { node: string; weight: bigint }[] {
  if (!o.ranked || o.scores.length === 0) return [{ node: o.winner, weight: 1n }]
  const n = o.scores.length
  const k = Math.max(1, Math.ceil((n * rules.rewardedShareBp) / 10_000))
  const best = o.scores[0]!.score
  const e = rules.exponentMilli / 1000
  return o.scores.slice(0, k).map((s) => ({ node: s.node, weight: BigInt(Math.max(1, Math.round(1e9 * Math.exp((e * (s.score - best)) / 1e6)))) }))
}

/** Judges that gave at least one verdict (not an abstention) and have weight, by weight × verdicts. */
function judgeShares(facts: RoundFacts, judgeWeight: (node: string) => bigint): { node: string; weight: bigint }[] {
  const out: { node: string; weight: bigint }[] = []
  for (const r of [...facts.verdicts].sort((x, y) => (x.judge < y.judge ? -1 : 1))) {
    const given = r.verdicts.filter((v) => v.v !== 'U').length
    const w = judgeWeight(r.judge) * BigInt(given)
    if (w > 0n) out.push({ node: r.judge, weight: w })
  }
  return out
}
