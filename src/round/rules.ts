import { canonicalJson } from '../crypto/canonical.js'
import { hashParts, sha256Hex } from '../crypto/hash.js'
import type { QueryBody, Verdict } from '../protocol/messages.js'

/**
 * The deterministic rules every party applies to signed inputs (DESIGN.md §4): the round id, the
 * coordinator's secret commitment, member selection and the assignment seed.
 */

/** roundId = H(coordinatorId‖coordSeq‖H(query)‖ledgerHead): fixed by the signed Query, not chosen. */
export function roundIdOf(coordinatorId: string, query: QueryBody): string {
  return hashParts(
    'round',
    coordinatorId,
    String(query.coordSeq),
    sha256Hex(canonicalJson(query)),
    query.ledgerHead,
  )
}

/** c₀ = H(r₀): published in the Query, opened in CommitsSealed. */
export function secretCommitment(r0: string): string {
  return hashParts('r0', r0)
}

/**
 * The k joiners with the lowest H(roundId‖nodeId), sorted by id; under rules 2 on, H(beacon‖roundId‖
 * nodeId), where the beacon is the ledger's for the sealed joiner set: the coordinator fixed the
 * round id, but nobody knew the beacon when the set was sealed, so grinding the Query buys no seats.
 */
export function selectMembers(roundId: string, joiners: readonly string[], k: number, beacon?: string): string[] {
  // Everyone is in when there is room for everyone (the usual case): no need to rank them.
  if (joiners.length <= k) return [...joiners].sort()
  return joiners
    .map((id) => ({ id, key: beacon === undefined ? hashParts('select', roundId, id) : hashParts('select/v2', beacon, roundId, id) }))
    .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))
    .slice(0, k)
    .map((e) => e.id)
    .sort()
}

/**
 * seed = H(roundId‖sealed commits‖ledgerHead‖r₀), where the sealed commits are CommitsSealed's packed
 * list (every committed member's id and commit hash, in id order) exactly as signed. Nobody knows it
 * before the commits are sealed: members cannot know r₀, and the coordinator committed to r₀ before
 * any commit existed. Hashing the list as it travels binds the seed to the whole sealed set at no
 * extra cost to the hundred members who each compute it.
 */
export function assignmentSeed(roundId: string, sealedCommits: string, ledgerHead: string, r0: string): string {
  return hashParts('seed', roundId, sealedCommits, ledgerHead, r0)
}

/**
 * Rules 2 on: seed = H(roundId‖sealed commits‖ledgerHead‖beacon), the beacon the ledger issued for
 * the signed CommitsSealed. The coordinator's r₀ keyed it before, and a coordinator that knew r₀
 * could choose which commits to seal (or vary its own member's) until the seed suited it; the
 * beacon does not exist until the seal is signed.
 */
export function beaconSeed(roundId: string, sealedCommits: string, ledgerHead: string, beacon: string): string {
  return hashParts('seed/v2', roundId, sealedCommits, ledgerHead, beacon)
}

/** The bytes a judge commits to: its verdict list, canonically encoded. */
export function verdictPayload(verdicts: readonly Verdict[]): string {
  return canonicalJson(verdicts)
}

/** What a private round's Query broadcasts of its prompt: the salted hash (the salt keeps a short prompt from being guessed). */
export function promptHash(messages: QueryBody['messages'], salt: string): string {
  return hashParts('prompt/v1', salt, canonicalJson(messages))
}

/** A private round's prompt salt: derived from r₀, so it is secret until the coordinator reveals r₀ to the members. */
export function promptSalt(r0: string): string {
  return hashParts('prompt-salt/v1', r0)
}

/** The question a round asks, as plain text (the last user message). */
export function questionText(query: Pick<QueryBody, 'messages'>): string {
  for (let i = query.messages.length - 1; i >= 0; i--)
    if (query.messages[i]!.role === 'user') return query.messages[i]!.content
  return ''
}
