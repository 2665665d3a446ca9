import { hashParts, sha256Hex } from '../crypto/hash.js'

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

const BEACON_DOMAIN = Buffer.from('chorus/beacon\n')

/** One link of the ledger's beacon chain: v_{i−1} = H("chorus/beacon" ‖ v_i) (ledger/beaconChain.ts). */
export function beaconStep(value: string): string {
  return sha256Hex(Buffer.concat([BEACON_DOMAIN, Buffer.from(value, 'hex')]))
}

/** The most links a member walks to check a quoted beacon (a busy ledger's beacons since the Query's head). */
export const MAX_BEACON_WALK = 65_536

/**
 * Whether a beacon quoted in a seal can be the ledger's: on the chain of the newest beacon the
 * ledger had issued by the Query's head, it must come later and hash back to it. Undefined when it
 * cannot be told here (another chain, or further than a member walks): verification decides then.
 */
export function beaconFollows(quoted: RoundBeacon, atHead: RoundBeacon): boolean | undefined {
  if (quoted.chain !== atHead.chain) return undefined
  const steps = quoted.index - atHead.index
  if (steps <= 0) return false
  if (steps > MAX_BEACON_WALK) return undefined
  let v = quoted.value
  for (let i = 0; i < steps; i++) v = beaconStep(v)
  return v === atHead.value
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
