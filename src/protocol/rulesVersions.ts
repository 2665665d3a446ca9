import { ProtocolError } from './errors.js'

/**
 * The rules a round's outcome is computed by, versioned. A Query signs its version and every
 * parameter the outcome depends on, so a transcript says by itself how to recompute it, and a
 * change to how outcomes are computed is a new version, never a silent edit. A version is `live`
 * (nodes join its rounds; a ledger settles them unless it names a later oldest live version) or
 * `retired` (kept only so old transcripts still verify). The parameters of a version are fixed:
 * a Query that states other values for its version is refused, so no coordinator can, say, let one
 * judge carry the round by signing a larger judge share.
 */
export interface RoundRules {
  version: number
  /** The largest share of a round's total judge weight one judge may hold, in basis points. */
  maxJudgeShareBp: number
  /** The fewest revealed answers a round ranks; with fewer it returns its answer unranked. */
  minRanked: number
  /** Bradley–Terry's prior (a virtual opponent per answer), in thousandths. */
  priorMilli: number
  /** How much a final-answer group's size counts: its score adds this · ln(size), in basis points. */
  supportBp: number
  /** The z of the reported intervals and of the winner's separation, in thousandths. */
  zMilli: number
  /** How late after its phase's announced deadline a seal may be dated (members leave then). */
  sealGraceMs: number
  /**
   * Rules 2 on: a group's support counts each answerer by its record, min(1, ranked rounds it has
   * answered / supportRounds), not by number: a fresh identity adds nothing, so Sybils cannot buy
   * agreement. (Rules 1 count answerers: ln(size).)
   */
  supportRounds?: number
  /**
   * Rules 3 on (1): each answerer's record also scales by its answerer reputation, min(1, 2 · its
   * EMA of normalised rank): an identity that keeps losing counts ever less, however many rounds
   * it has sat in, so joining rounds in numbers buys no agreement.
   */
  supportByRank?: number
  /**
   * Rules 4 on (1): the GOOD/BAD prefilter. Judges mark each answer they see that is not a genuine
   * attempt; an answer marked by judges holding more than half the weight of those that saw it (two
   * at least), which the rules' own text check (genuine.ts) confirms, is left out of the ranking,
   * and its ticket is forfeit (consensus/prefilter.ts, round/outcome.ts).
   */
  prefilter?: number
  /** Rules 4 on (1): a group's support is ln(max(1, Σ records)), not ln(1 + Σ): a lone answer gains nothing. */
  supportFloor?: number
}

export type RulesStatus = 'live' | 'retired'

interface RulesVersion {
  rules: RoundRules
  status: RulesStatus
  /** What distinguishes it, for the error that names it. */
  summary: string
}

export const RULES_VERSIONS: ReadonlyMap<number, RulesVersion> = new Map([
  [
    1,
    {
      rules: { version: 1, maxJudgeShareBp: 2_500, minRanked: 3, priorMilli: 1_000, supportBp: 5_000, zMilli: 1_960, sealGraceMs: 2_000 },
      status: 'live',
      summary: "members and the judge assignment keyed by the coordinator's own secret r0; a group's support counts its answerers",
    },
  ],
  [
    2,
    {
      rules: { version: 2, maxJudgeShareBp: 2_500, minRanked: 3, priorMilli: 1_000, supportBp: 5_000, zMilli: 1_960, sealGraceMs: 2_000, supportRounds: 10 },
      status: 'live',
      summary: "members and the judge assignment keyed by the ledger's beacons, issued after the seals they follow; support counted by answerers' records",
    },
  ],
  [
    3,
    {
      rules: { version: 3, maxJudgeShareBp: 2_500, minRanked: 3, priorMilli: 1_000, supportBp: 5_000, zMilli: 1_960, sealGraceMs: 2_000, supportRounds: 10, supportByRank: 1 },
      status: 'live',
      summary: "as 2, and members drawn from the joiners whose tickets the ledger locked before the coordinator closed the joins, so a coordinator cannot drop joiners to pack the seats; support weighs each answerer's record by its rank too",
    },
  ],
  [
    4,
    {
      rules: { version: 4, maxJudgeShareBp: 2_500, minRanked: 3, priorMilli: 1_000, supportBp: 5_000, zMilli: 1_960, sealGraceMs: 2_000, supportRounds: 10, supportByRank: 1, prefilter: 1, supportFloor: 1 },
      status: 'live',
      summary: "as 3, and answers that most of the judge weight that saw them marked not a genuine attempt, and that the rules' text check confirms, are left out of the ranking and forfeit their ticket; a group's support is ln(max(1, records)), so a lone answer gains nothing over none",
    },
  ],
])

/** The first version whose rounds take the ledger's beacons (a round on no ledger runs version 1). */
export const BEACON_RULES = 2
/** The first version whose joiners lock their tickets on the ledger, which then names the joiner set. */
export const LOCKED_JOIN_RULES = 3
/** The first version whose judges' GOOD/BAD marks (a verdict's `g`) count. */
export const PREFILTER_RULES = 4

/** The version a coordinator runs new rounds by: with a ledger's beacons, and without. */
export const CURRENT_RULES: RoundRules = RULES_VERSIONS.get(4)!.rules
export const LEDGERLESS_RULES: RoundRules = RULES_VERSIONS.get(1)!.rules

const KNOWN = [...RULES_VERSIONS.keys()].join(', ')

/**
 * Why a Query's rules cannot be run (unknown version, parameters other than its version's), or
 * undefined. `oldestLive` is the oldest version the caller still takes (a ledger's setting): older
 * ones, and retired ones when `live` is asked for, are refused too.
 */
export function rulesProblem(rules: RoundRules, options: { live?: boolean; oldestLive?: number } = {}): string | undefined {
  const known = RULES_VERSIONS.get(rules.version)
  if (known === undefined) return `rules version ${rules.version} is unknown here (this Chorus knows ${KNOWN})`
  for (const [k, v] of Object.entries(known.rules) as [keyof RoundRules, number][]) {
    if (rules[k] !== v) return `rules version ${rules.version} fixes ${k} at ${v}, not ${rules[k]}`
  }
  for (const k of Object.keys(rules)) if (!(k in known.rules)) return `rules version ${rules.version} has no ${k}`
  if (options.live && known.status === 'retired') return `rules version ${rules.version} is retired (${known.summary}): its rounds verify but are no longer run`
  if (options.oldestLive !== undefined && rules.version < options.oldestLive) return `rules version ${rules.version} is older than the oldest this ledger still settles (${options.oldestLive})`
  return undefined
}

/** `rulesProblem` as a protocol rejection (what a node gives a Query it will not run). */
export function checkRulesLive(rules: RoundRules): void {
  const problem = rulesProblem(rules, { live: true })
  if (problem !== undefined) throw new ProtocolError('VERSION', problem)
}
