import { hashParts } from '../crypto/hash.js'
import type { Signed } from '../protocol/envelope.js'
import { LOCKED_JOIN_RULES, type RoundRules } from '../protocol/rulesVersions.js'
import { packSeal } from '../protocol/seal.js'
import { joinSealHash } from '../round/beacons.js'
import type { LedgerView } from '../round/ledgerView.js'
import type { DriverLedger } from './roundDriver.js'

/**
 * A STAND-IN ledger for replays that run rounds by rules 2 on, which need a ledger's beacons and
 * (rules 3 on) its ticket locks: each beacon is a hash of the seal it follows and every Join is
 * locked. Enough to drive the real round code by those rules in a measurement; it has none of a
 * ledger's guarantees (a live round takes its beacons from the network's ledger).
 */
export function replayLedger(rules: RoundRules): DriverLedger {
  const locked: Signed<'Join'>[] = []
  return {
    rules,
    now: 1_000_000,
    lock: (join) => void locked.push(join),
    beacon(phase, seal, query) {
      if (phase !== 'members' || rules.version < LOCKED_JOIN_RULES) return { chain: 1, index: phase === 'members' ? 1 : 2, value: hashParts('replay-beacon', phase, seal), seal }
      const joins = locked.filter((j) => j.env.round === query.env.round).sort((x, y) => (x.env.from < y.env.from ? -1 : 1))
      const named = joinSealHash(query.env.round, packSeal(joins.map((j) => ({ from: j.env.from, hash: j.hash }))))
      return { chain: 1, index: 1, value: hashParts('replay-beacon', phase, named), seal: named, joins: joins.map((j) => j.env) }
    },
  }
}

/**
 * The standing such a replay reads: every judge weighs `judgeWeight`, and every answerer has a full
 * record at an even rank, so a group's support counts each of its answerers once (rules 2 on weigh
 * support by record; a fresh view would give it none).
 */
export function seasonedView(judgeWeight: (node: string) => number): LedgerView {
  return { head: () => hashParts('replay-head'), eligible: () => true, judgeWeight, answerRounds: () => 1_000, reputationPpm: () => 500_000 }
}
