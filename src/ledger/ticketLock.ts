import { canonicalJson } from '../crypto/canonical.js'
import { SignatureVerifier } from '../crypto/identity.js'
import { openEnvelope, type Signed } from '../protocol/envelope.js'
import { LOCKED_JOIN_RULES } from '../protocol/rulesVersions.js'
import { roundIdOf } from '../round/rules.js'
import { LedgerError } from './ledger.js'

/**
 * A joiner's ticket lock (rules 3 on): as it tells the coordinator it joins, a node hands the
 * ledger its signed Join with the round's signed Query. The ledger locks the ticket from the node's
 * free stake and records the Join; when the coordinator asks for the round's members beacon (carrying
 * the Joins it holds, which the ledger locks the same way if their nodes' own locks have not come
 * yet), the ledger closes the joins and names the joiner set itself, so the members are drawn from
 * every node that locked in time, not from the Joins the coordinator chose to keep. The Join's own signature is
 * the request's authentication: only its node can have made it, and locking it for the node is what
 * the node asked for.
 */
export interface TicketLockRequest {
  query: unknown
  join: unknown
}

/** A lock the ledger recorded (`seq`: its log entry). */
export interface TicketLock {
  round: string
  node: string
  seq: number
}

const verifier = new SignatureVerifier()

/** Opens an envelope given as JSON, as the wire would carry it (schema, canonical form, signature). */
export function openGiven(raw: unknown, what: string): Signed {
  try {
    return openEnvelope(Buffer.from(canonicalJson(raw), 'utf8'), verifier)
  } catch (err) {
    throw new LedgerError('BAD_REQUEST', `the ${what} does not open: ${(err as Error).message}`)
  }
}

/**
 * A lock request's signed Join, and its Query as given: opened (`openLockQuery`) only when the
 * ledger meets the round for the first time, so a round's later locks cost one signature check.
 * Throws a LedgerError saying what is wrong.
 */
export function checkLockRequest(raw: unknown): { join: Signed<'Join'>; query: unknown } {
  const r = raw as TicketLockRequest
  if (typeof r !== 'object' || r === null || Object.keys(r).sort().join(',') !== 'join,query') throw new LedgerError('BAD_REQUEST', 'a ticket lock is {query, join}: the round’s signed Query and the node’s signed Join')
  return { join: openJoin(r.join), query: r.query }
}

/** The signed Query of a rules-3 round, the round `join` is for; or a LedgerError. */
export function openLockQuery(raw: unknown, join: Signed<'Join'>): Signed<'Query'> {
  const query = openGiven(raw, 'Query')
  if (query.env.type !== 'Query') throw new LedgerError('BAD_REQUEST', 'the query is not a Query')
  const q = query as Signed<'Query'>
  if (roundIdOf(q.env.from, q.env.body) !== q.env.round) throw new LedgerError('BAD_REQUEST', "the round id is not its Query's")
  if (join.env.round !== q.env.round) throw new LedgerError('BAD_REQUEST', 'the Join is for another round than the Query')
  if (q.env.body.rules.version < LOCKED_JOIN_RULES) throw new LedgerError('BAD_REQUEST', `rules ${q.env.body.rules.version} rounds lock no tickets on the ledger (rules ${LOCKED_JOIN_RULES} on do)`)
  return q
}

/** A signed Join, or a LedgerError. */
export function openJoin(raw: unknown): Signed<'Join'> {
  const join = openGiven(raw, 'Join')
  if (join.env.type !== 'Join') throw new LedgerError('BAD_REQUEST', 'the join is not a Join')
  return join as Signed<'Join'>
}
