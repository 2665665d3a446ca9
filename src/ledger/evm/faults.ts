import type { Address, Hex } from 'viem'
import { beaconStep } from '../../round/beacons.js'
import type { ChainDeposit } from '../chainDeposits.js'
import { accountLeafHash, type Batch, type BatchHeader, type BeaconAt, changesHash, deltaLeafHash, roundLeafHash } from './batch.js'
import { MerkleTree } from './merkle.js'
import type { Rollup } from './rollup.js'

/**
 * What a disputer finds in a batch's published body (the lists its roots commit): the first fault
 * the chain can decide by itself, and the dispute that proves it. A body that does not even build
 * the header's roots proves nothing (the chain would refuse it): that, and a wrong outcome, go to
 * the vote of the verifiers that did not sign.
 */
export type BatchBody = Pick<Batch, 'accounts' | 'deltas' | 'rounds' | 'roundChanges'>

export type Fault =
  | { kind: 'conservation' }
  | { kind: 'netting'; delta: number }
  | { kind: 'double'; first: number; second: number }
  | { kind: 'beacon'; which: 0 | 1 | 2; round?: number }

/** Whether the net changes and the burn add up to the deposits credited, to the micro-unit. */
export function conserves(header: BatchHeader, deltas: readonly { delta: bigint }[], deposits: readonly ChainDeposit[]): boolean {
  return deltas.reduce((s, d) => s + d.delta, 0n) + header.burned === deposits.reduce((s, d) => s + d.amount, 0n)
}

/** What each account gained by the rounds' leaves and its deposits: what its net change must be. */
export function changesByAccount(body: Pick<BatchBody, 'roundChanges'>, deposits: readonly ChainDeposit[]): Map<string, bigint> {
  const sums = new Map<string, bigint>()
  const add = (a: string, x: bigint) => sums.set(a, (sums.get(a) ?? 0n) + x)
  for (const changes of body.roundChanges) for (const c of changes) add(c.account, c.delta)
  for (const d of deposits) add(`0x${d.account}`, d.amount)
  return sums
}

/** Why the body is not the header's, or undefined when every root is built from it. */
export function bodyMismatch(header: BatchHeader, body: BatchBody): string | undefined {
  if (new MerkleTree(body.accounts.map(accountLeafHash)).root !== header.stateRoot) return 'the accounts do not build the state root'
  if (new MerkleTree(body.deltas.map(deltaLeafHash)).root !== header.deltasRoot) return 'the net changes do not build the deltas root'
  if (new MerkleTree(body.rounds.map(roundLeafHash)).root !== header.roundsRoot) return 'the round leaves do not build the rounds root'
  if (body.rounds.length !== body.roundChanges.length || body.rounds.some((r, i) => r.deltas !== changesHash(body.roundChanges[i]!))) return "a round leaf does not commit its changes"
  return undefined
}

/** A beacon that hashes back to `anchor` on its chain (undefined: another chain, or out of reach). */
function beaconHolds(quoted: BeaconAt, anchor: BeaconAt): boolean | undefined {
  if (quoted.chain !== anchor.chain || quoted.index < anchor.index || quoted.index - anchor.index > 20_000n) return undefined
  let v = quoted.value.slice(2)
  for (let i = anchor.index; i < quoted.index; i++) v = beaconStep(v)
  return `0x${v}` === anchor.value
}

/**
 * The first provable fault of a body that builds its header's roots: money made or lost
 * (conservation), an account's net change other than its rounds' changes and deposits (netting),
 * a round in two places (double), or a beacon off the committed chain (against `anchor`, the tip
 * committed before this batch).
 */
export function findFault(header: BatchHeader, body: BatchBody, deposits: readonly ChainDeposit[], anchor: BeaconAt): Fault | undefined {
  if (!conserves(header, body.deltas, deposits)) return { kind: 'conservation' }
  const sums = changesByAccount(body, deposits)
  const wrong = body.deltas.findIndex((d) => (sums.get(d.account) ?? 0n) !== d.delta)
  if (wrong >= 0) return { kind: 'netting', delta: wrong }
  const seen = new Map<string, number>()
  for (const [i, r] of body.rounds.entries()) {
    const first = seen.get(r.round)
    if (first !== undefined) return { kind: 'double', first, second: i }
    seen.set(r.round, i)
  }
  if (beaconHolds({ chain: header.beaconChain, index: header.beaconIndex, value: header.beaconTip }, anchor) === false) return { kind: 'beacon', which: 0 }
  for (const [i, r] of body.rounds.entries()) {
    if (r.beaconChain === 0) continue
    if (beaconHolds({ chain: r.beaconChain, index: r.membersIndex, value: r.membersBeacon }, anchor) === false) return { kind: 'beacon', which: 1, round: i }
    if (beaconHolds({ chain: r.beaconChain, index: r.assignmentIndex, value: r.assignmentBeacon }, anchor) === false) return { kind: 'beacon', which: 2, round: i }
  }
  return undefined
}

/** Sends the dispute that proves `fault` (the bond at stake); `anchor` as in `findFault`, with its header. */
export async function disputeFault(rollup: Rollup, header: BatchHeader, signers: readonly Address[], body: BatchBody, fault: Fault, anchor: BatchHeader | 'genesis'): Promise<void> {
  const rounds = new MerkleTree(body.rounds.map(roundLeafHash))
  const leaf = (i: number) => ({ leaf: body.rounds[i]!, proof: rounds.proof(i) as Hex[] })
  switch (fault.kind) {
    case 'conservation':
      await rollup.disputeConservation(header, signers, body.deltas)
      return
    case 'netting':
      await rollup.disputeNetting(header, signers, body.rounds, body.roundChanges, body.deltas[fault.delta]!, new MerkleTree(body.deltas.map(deltaLeafHash)).proof(fault.delta))
      return
    case 'double':
      await rollup.disputeDoubleSettlement(header, signers, header, leaf(fault.first), leaf(fault.second))
      return
    case 'beacon':
      await rollup.disputeBeacon(header, signers, fault.which, fault.round === undefined ? undefined : leaf(fault.round), anchor)
      return
  }
}
