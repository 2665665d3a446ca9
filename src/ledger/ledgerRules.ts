import { CURRENT_RULES } from '../protocol/rulesVersions.js'
import { parseAmount } from './amount.js'
import { BEACON_CHAIN_LENGTH } from './beaconChain.js'
import { type CalibrationRules, DEFAULT_CALIBRATION } from './calibration.js'
import { DEFAULT_SETTLE_WITHIN_MS, type LedgerRules } from './ledger.js'
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

