import { hashParts } from '../crypto/hash.js'

/**
 * What a round takes from the ledger's beacons (rules 2 on): the value issued for one of its seals,
 * as the seal quotes it, and how a verifier looks one up. The ledger issues them (ledger/beacon*.ts);
 * the round only names the seal each follows and uses the value.
 */
export type BeaconPhase = 'members' | 'assignment'
export const BEACON_PHASES: readonly BeaconPhase[] = ['members', 'assignment']

export interface RoundBeacon {
  chain: number
  index: number
  value: string
}

/** A beacon as the ledger issued it: also the hash of the seal it was asked for. */
export interface IssuedBeacon extends RoundBeacon {
  seal: string
}

/** The beacons a ledger issued for a round, by phase (undefined: none). */
export type BeaconLookup = (round: string, phase: BeaconPhase) => IssuedBeacon | undefined

/**
 * The hash the members beacon is bound to: the sealed joiner set (the Members seal, which quotes
 * the beacon, cannot be signed before it exists). The assignment beacon is bound to the hash of
 * the CommitsSealed envelope itself.
 */
export function joinSealHash(roundId: string, packedJoins: string): string {
  return hashParts('beacon-seal/joins', roundId, packedJoins)
}
