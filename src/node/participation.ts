import { NODE_CAPACITY, ROUNDS_PER_COORDINATOR } from '../protocol/limits.js'
import type { Micro } from '../ledger/amount.js'
import type { Standing } from '../ledger/standing.js'
import type { QueryBody } from '../protocol/messages.js'
import { allowsOperator, meetsReputation } from '../round/ledgerView.js'

/**
 * Whether a node takes a round, decided from the Query, the clock and what the node already holds.
 * Pure: the daemon supplies `now` and its counts. The bounds are what keep a node's capacity its
 * own: a Query from a gateway not on the allow-list is not served; no coordinator holds more than
 * `perCoordinator` rounds at once; a round's deadlines must lie within `horizonMs` (no Query holds a
 * slot for days); and a join window longer than `maxJoinWaitMs` is refused, so a coordinator that
 * never seals its members holds a slot for seconds at most. To hold one longer it has to run the
 * round, which is using the node, not squatting on it.
 */
export type DeclineReason = 'notAllowed' | 'expired' | 'horizon' | 'coordinator' | 'capacity' | 'policy' | 'ineligible' | 'unregistered' | 'fee' | 'deposit' | 'ledger' | 'stake' | 'rules'

export const DECLINE_REASONS: readonly DeclineReason[] = ['capacity', 'coordinator', 'deposit', 'expired', 'fee', 'horizon', 'ineligible', 'ledger', 'notAllowed', 'policy', 'rules', 'stake', 'unregistered']

export interface ParticipationLimits {
  /** Rounds held at once. */
  capacity: number
  /** Rounds held at once for any one coordinator. */
  perCoordinator: number
  /** The furthest a Query's last deadline may lie ahead. */
  horizonMs: number
  /** The furthest a Query's join deadline may lie ahead. */
  maxJoinWaitMs: number
  /** When set, only Queries from these coordinators are served. */
  gateways?: ReadonlySet<string>
  /** The least fee (micro-units) a metered round must offer. */
  minFee: Micro
}

export const DEFAULT_HORIZON_MS = 600_000
export const DEFAULT_MAX_JOIN_WAIT_MS = 30_000

export const DEFAULT_LIMITS: ParticipationLimits = {
  capacity: NODE_CAPACITY,
  perCoordinator: ROUNDS_PER_COORDINATOR,
  horizonMs: DEFAULT_HORIZON_MS,
  maxJoinWaitMs: DEFAULT_MAX_JOIN_WAIT_MS,
  minFee: 1_000n,
}

/**
 * The terms governance has in force on a custody chain (ledger/evm/parameterWatch.ts), where the
 * node follows one: a Query must offer exactly the voted ticket price, by rules no older than the
 * voted oldest live version, whose judge share cap is the voted one (a rules version fixes its cap:
 * a new cap takes effect with a version that has it).
 */
export interface GovernedTerms {
  ticket?: Micro
  oldestRules?: number
  judgeShareCapBp?: number
}

export interface Held {
  total: number
  fromCoordinator: number
}

/** Why the node declines this Query, or undefined to take it (subject to its own policy). */
export function declineReason(coordinator: string, query: QueryBody, now: number, held: Held, limits: ParticipationLimits): DeclineReason | undefined {
  if (limits.gateways !== undefined && !limits.gateways.has(coordinator)) return 'notAllowed'
  const d = query.deadlines
  if (now >= d.join) return 'expired'
  if (d.verdictReveal - now > limits.horizonMs || d.join - now > limits.maxJoinWaitMs) return 'horizon'
  if (held.fromCoordinator >= limits.perCoordinator) return 'coordinator'
  if (held.total >= limits.capacity) return 'capacity'
  return undefined
}

/**
 * Why a node declines a metered round, from the ledger's standing at the head its Query names and
 * at the newest head this node knows (a gateway cannot name an old head to show a deposit it has
 * since spent): the coordinator must be a registered gateway; the fee must meet this node's
 * minimum; the rounds this node already holds for it, with this one, must be covered by its
 * deposit (so each node's time costs the gateway money it has); this node must be eligible with
 * at least the reputation the Query asks for; and its stake must cover the tickets of every round
 * it holds, this one included (its ticket is locked there: a no-show forfeits it at settlement).
 */
export function ledgerDeclineReason(me: string, coordinator: string, query: QueryBody, held: Held, at: Standing, newest: Standing, terms: { minFee: Micro; governed?: GovernedTerms }): DeclineReason | undefined {
  const named = at.deposit(coordinator)
  const now = newest.deposit(coordinator)
  if (named === undefined || now === undefined) return 'unregistered'
  // Rules the ledger no longer settles (a coordinator downgrading to grindable ones): unpaid work.
  if (query.rules.version < Math.max(newest.oldestRules, terms.governed?.oldestRules ?? 0)) return 'rules'
  const cap = terms.governed?.judgeShareCapBp
  if (cap !== undefined && cap > 0 && query.rules.maxJudgeShareBp !== cap) return 'rules'
  // A gateway that ignores the ticket price the network voted sets its own terms: not served.
  if (terms.governed?.ticket !== undefined && terms.governed.ticket > 0n && BigInt(query.ticket) !== terms.governed.ticket) return 'policy'
  const fee = BigInt(query.fee)
  if (fee < terms.minFee) return 'fee'
  const deposit = named < now ? named : now
  if (fee * BigInt(held.fromCoordinator + 1) > deposit) return 'deposit'
  if (!at.eligible(me) || !meetsReputation(at, me, query.minReputation) || !allowsOperator(at, me, query.operators)) return 'ineligible'
  // A ticket is locked from stake per round held: a node cannot promise more tickets than it has.
  const stake = at.stake(me) ?? 0n
  if (BigInt(query.ticket) * BigInt(held.total + 1) > stake) return 'stake'
  return undefined
}

/**
 * Relevance: a node that declares domains joins only Queries tagged with one of them; an untagged
 * Query is for everyone, and a node that declares none takes every tag.
 */
export function relevantTo(domains: ReadonlySet<string> | undefined, query: Pick<QueryBody, 'domains'>): boolean {
  return domains === undefined || domains.size === 0 || query.domains.length === 0 || query.domains.some((d) => domains.has(d))
}
