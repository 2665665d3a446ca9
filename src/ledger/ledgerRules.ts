import { CURRENT_RULES, RULES_VERSIONS } from '../protocol/rulesVersions.js'
import { parseAmount } from './amount.js'
import { BEACON_CHAIN_LENGTH } from './beaconChain.js'
import { type CalibrationRules, DEFAULT_CALIBRATION } from './calibration.js'
import { DEFAULT_SETTLE_WITHIN_MS, LedgerError, type LedgerRules } from './ledger.js'
import { DEFAULT_SETTLEMENT_RULES } from './settlement.js'

/**
 * A ledger's rules, as its genesis entry writes them (a new ledger takes these defaults, overridden
 * by what its creator gives) and as they are read back; a rule a ledger from before it does not
 * name takes the value that ledger ran by, so old logs replay the same.
 */
export const DEFAULT_LEDGER_RULES: LedgerRules = {
  settlement: DEFAULT_SETTLEMENT_RULES,
  minStake: 1_000_000n,
  unbondingMs: 7 * 24 * 3_600_000,
  // A new network settles only rounds whose members and seed no coordinator can steer.
  oldestRules: CURRENT_RULES.version,
  beaconChainLength: BEACON_CHAIN_LENGTH,
  settleWithinMs: DEFAULT_SETTLE_WITHIN_MS,
  calibration: DEFAULT_CALIBRATION,
}

type Body = Record<string, unknown>

export function rulesJson(r: LedgerRules): Body {
  return {
    settlement: { ...r.settlement },
    minStake: r.minStake.toString(),
    unbondingMs: r.unbondingMs,
    oldestRules: r.oldestRules,
    beaconChainLength: r.beaconChainLength,
    settleWithinMs: r.settleWithinMs,
    ...(r.calibration ? { calibration: { ...r.calibration } } : {}),
  }
}

export function rulesOf(b: Body): LedgerRules {
  return { settlement: b.settlement as LedgerRules['settlement'], minStake: parseAmount(String(b.minStake)), unbondingMs: Number(b.unbondingMs), oldestRules: b.oldestRules === undefined ? 1 : Number(b.oldestRules), beaconChainLength: b.beaconChainLength === undefined ? BEACON_CHAIN_LENGTH : Number(b.beaconChainLength),
    settleWithinMs: b.settleWithinMs === undefined ? DEFAULT_LEDGER_RULES.settleWithinMs : Number(b.settleWithinMs),
    // A ledger from before proof of capability has none: its judges weigh by agreement alone.
    ...(b.calibration === undefined ? {} : { calibration: b.calibration as CalibrationRules }),
  }
}


/**
 * The rules after a `retire-rules` entry (the operator's: rounds by rules older than
 * `oldestRules` no longer settle) or a `govern` entry (what governance voted on the custody chain:
 * the answerers' share of each pool, the minimum stake, and the oldest rules version). The oldest version only rises:
 * no entry can bring back rules the network left.
 */
export function changedRules(rules: LedgerRules, kind: 'retire-rules' | 'govern', body: Body): LedgerRules {
  const oldest = body.oldestRules
  const share = kind === 'govern' ? body.answererShareBp : undefined
  const minStake = kind === 'govern' && body.minStake !== undefined ? parseAmount(String(body.minStake)) : undefined
  const rises = (v: unknown) => Number.isSafeInteger(v) && RULES_VERSIONS.has(v as number) && ((v as number) > rules.oldestRules || (kind === 'govern' && v === rules.oldestRules))
  if ((kind === 'retire-rules' || oldest !== undefined) && !rises(oldest)) {
    throw new LedgerError('BAD_REQUEST', `the oldest rules settled can only move up to a version this Chorus knows (now ${rules.oldestRules}; known ${[...RULES_VERSIONS.keys()].join(', ')})`)
  }
  if (share !== undefined && (!Number.isSafeInteger(share) || (share as number) < 0 || (share as number) > 10_000)) throw new LedgerError('BAD_REQUEST', "an answerers' share is 0 to 10 000 basis points")
  return {
    ...rules,
    ...(oldest === undefined ? {} : { oldestRules: oldest as number }),
    ...(share === undefined ? {} : { settlement: { ...rules.settlement, answererShareBp: share as number } }),
    ...(minStake === undefined ? {} : { minStake }),
  }
}
