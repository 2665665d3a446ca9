import { canonicalJson } from '../crypto/canonical.js'
import { isLowerHex } from '../crypto/hex.js'
import { type Identity, SignatureVerifier, signBytes } from '../crypto/identity.js'
import { openEnvelope, type Signed } from '../protocol/envelope.js'
import { MAX_JOINS } from '../protocol/limits.js'
import type { QueryBody } from '../protocol/messages.js'
import { BEACON_PHASES, type BeaconPhase, type IssuedBeacon } from '../round/beacons.js'
import { roundIdOf } from '../round/rules.js'
import { LedgerError } from './ledger.js'
import type { LedgerClient } from './networkLedger.js'

/**
 * A round's coordinator asking the ledger for the beacon that follows one of its seals: `members`
 * (the sealed joiner set; member selection) or `assignment` (the sealed commits; the judge
 * assignment). It names the hash of that seal and carries the round's signed Query, so the ledger
 * knows the round is real (its id is the Query's) and whose it is; the request is signed by the
 * Query's signer. The ledger issues exactly one beacon per (round, phase): asking again returns the
 * first, whatever seal the second names, so a coordinator cannot re-roll by sealing again.
 *
 * Rules 3 on, a members request also carries the Joins the coordinator holds. Each is its node's
 * own signed word, so the ledger locks it as the node's own lock would be taken (unless the node's
 * lock came first): a node sends its Join and its lock at once, and its Join counts even when its
 * lock is still on the way when the coordinator closes the joins. The coordinator cannot use this
 * to leave anyone out: the ledger still seats every joiner it locked, carried or not.
 */

export interface BeaconRequest {
  round: string
  phase: BeaconPhase
  /** The hash of the seal the beacon follows. */
  seal: string
  /** The round's Query envelope, as signed. */
  query: unknown
  sig: string
  /** A members request: the Joins the coordinator holds, as signed (not covered by `sig`: each is signed by its node). */
  joins?: unknown[]
}

/** What the ledger issued: the `index`-th value of its `chain`-th beacon chain, in log entry `seq`. */
export interface BeaconIssue extends IssuedBeacon {
  round: string
  phase: BeaconPhase
  coordinator: string
  seq: number
  /**
   * Rules 3 on, a members beacon: the Joins whose tickets the ledger locked for the round, as
   * signed, in the order the Members seal lists them (`seal` is the hash of that list).
   */
  joins?: unknown[]
}

const signed = (r: Pick<BeaconRequest, 'round' | 'phase' | 'seal'>) => Buffer.from(`chorus/ledger/v1/beacon\n${canonicalJson({ phase: r.phase, round: r.round, seal: r.seal })}`, 'utf8')

export function signBeaconRequest(coordinator: Identity, query: Signed<'Query'>, phase: BeaconPhase, seal: string, joins?: readonly Signed<'Join'>[]): BeaconRequest {
  const r = { round: query.env.round, phase, seal }
  return { ...r, query: query.env, sig: signBytes(coordinator, signed(r)), ...(joins !== undefined && joins.length > 0 ? { joins: joins.map((j) => j.env) } : {}) }
}

/** How a coordinator gets its rounds' beacons: from its ledger, asking as the round's coordinator. */
export type BeaconSource = (query: Signed<'Query'>, phase: BeaconPhase, seal: string, joins?: readonly Signed<'Join'>[]) => Promise<IssuedBeacon & { joins?: unknown[] }>

export function ledgerBeacons(ledger: Pick<LedgerClient, 'beacon'>, coordinator: Identity): BeaconSource {
  return (query, phase, seal, joins) => ledger.beacon(signBeaconRequest(coordinator, query, phase, seal, joins))
}

const verifier = new SignatureVerifier()

/**
 * Checks a request's shape, its Query (a valid signed Query whose id is the round's) and that the
 * Query's signer signed the request; returns the coordinator. Throws LedgerError saying what is wrong.
 */
export function checkBeaconRequest(raw: unknown): { request: BeaconRequest; coordinator: string; query: QueryBody } {
  const r = raw as BeaconRequest
  const keys = typeof r === 'object' && r !== null ? Object.keys(r).sort().join(',') : ''
  const ok =
    (keys === 'phase,query,round,seal,sig' || (keys === 'joins,phase,query,round,seal,sig' && r.phase === 'members' && carriedJoins(r.joins))) &&
    typeof r.round === 'string' &&
    isLowerHex(r.round, 64) &&
    BEACON_PHASES.includes(r.phase) &&
    typeof r.seal === 'string' &&
    isLowerHex(r.seal, 64) &&
    typeof r.sig === 'string' &&
    isLowerHex(r.sig, 128)
  if (!ok) throw new LedgerError('BAD_REQUEST', `a beacon request is {round, phase: members|assignment, seal, query, sig}, and a members request may carry up to ${MAX_JOINS} joins`)
  let query: Signed
  try {
    query = openEnvelope(Buffer.from(canonicalJson(r.query), 'utf8'), verifier)
  } catch (err) {
    throw new LedgerError('BAD_REQUEST', `the request's Query does not open: ${(err as Error).message}`)
  }
  if (query.env.type !== 'Query' || query.env.round !== r.round) throw new LedgerError('BAD_REQUEST', "the request's Query is not this round's")
  const body = query.env.body as QueryBody
  if (roundIdOf(query.env.from, body) !== r.round) throw new LedgerError('BAD_REQUEST', "the round id is not its Query's")
  if (!verifier.verify(query.env.from, signed(r), r.sig)) throw new LedgerError('BAD_SIGNATURE', "the beacon request is not signed by the round's coordinator")
  return { request: { round: r.round, phase: r.phase, seal: r.seal, query: r.query, sig: r.sig, ...(r.joins === undefined ? {} : { joins: r.joins }) }, coordinator: query.env.from, query: body }
}

/** Carried Joins are checked one by one when they are locked; here only that they are a bounded list of objects. */
function carriedJoins(joins: unknown): boolean {
  return Array.isArray(joins) && joins.length > 0 && joins.length <= MAX_JOINS && joins.every((j) => typeof j === 'object' && j !== null && !Array.isArray(j))
}
