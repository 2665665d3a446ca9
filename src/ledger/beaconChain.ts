import { beaconStep } from '../round/beacons.js'

/**
 * The ledger's source of round randomness: a hash chain fixed before any round asks for it. From a
 * secret seed s the chain is v_N = s and v_{i−1} = H(v_i); its tip v_0 goes into the log when the
 * chain starts, and beacons are issued in order v_1, v_2, … . Each issued value is checkable by
 * anyone (H(v_k) = v_{k−1}), none can be predicted before it is issued (that would invert H), and
 * none can be chosen (all were fixed when the tip was published). The operator, who holds s, could
 * see them early: this protects a round against its coordinator and members, not against the
 * ledger operator (an EVM ledger removes that).
 *
 * Walking from s to v_k costs N − k hashes, so the chain keeps a checkpoint every SEGMENT values
 * and expands one segment at a time into memory: issuing costs one hash amortised.
 */
export const BEACON_CHAIN_LENGTH = 65_536
const SEGMENT = 256


export class BeaconChain {
  /** checkpoints[j] = v_{j·SEGMENT}. */
  private readonly checkpoints: string[] = []
  private segmentStart = -1
  private segment: string[] = []

  constructor(
    seed: string,
    readonly length = BEACON_CHAIN_LENGTH,
  ) {
    if (!Number.isSafeInteger(length) || length < 1 || length % SEGMENT !== 0) throw new RangeError(`a beacon chain's length is a positive multiple of ${SEGMENT}`)
    let v = seed
    for (let i = length; i > 0; i--) {
      if (i % SEGMENT === 0) this.checkpoints[i / SEGMENT] = v
      v = beaconStep(v)
    }
    this.checkpoints[0] = v
  }

  /** v_0, published when the chain starts. */
  get tip(): string {
    return this.checkpoints[0]!
  }

  /** v_k, 1 ≤ k ≤ length. */
  value(k: number): string {
    if (!Number.isSafeInteger(k) || k < 1 || k > this.length) throw new RangeError(`beacon ${k} is outside the chain (1..${this.length})`)
    const start = Math.floor((k - 1) / SEGMENT) * SEGMENT
    if (start !== this.segmentStart) {
      // v_{start+1} … v_{start+SEGMENT}, walked down from the checkpoint at the segment's top.
      const values: string[] = new Array<string>(SEGMENT)
      let v = this.checkpoints[(start + SEGMENT) / SEGMENT]!
      for (let i = SEGMENT - 1; i >= 0; i--) {
        values[i] = v
        v = beaconStep(v)
      }
      this.segment = values
      this.segmentStart = start
    }
    return this.segment[k - 1 - start]!
  }
}
