import type { RoundBeacon } from './beacons.js'
import { sha256Hex } from '../crypto/hash.js'

/**
 * What a round reads from the ledger, at the head named in its Query. The core runs before any
 * ledger exists: the genesis view has a fixed head, lets everyone in and weighs judges equally
 * (or, in evaluation, by weights learned on calibration items).
 */
export interface LedgerView {
  head(): string
  /** May this node join rounds (stake, reputation, not banned)? */
  eligible(node: string): boolean
  /** Raw judging weight (from calibrated accuracy); 0 means the node may not judge. */
  judgeWeight(node: string): number
  /** Answerer reputation in ppm, where the ledger keeps one (a Query's minReputation reads it). */
  reputationPpm?(node: string): number | undefined
  /** Ranked rounds a node has answered, where the ledger counts them (rules 2 weigh support by it). */
  answerRounds?(node: string): number | undefined
  /** The operator account a node belongs to, where the ledger keeps one (a Query's `operators` reads it). */
  operatorOf?(node: string): string | undefined
  /** The newest beacon the ledger had issued by this head, where it issues them (members check later ones against it). */
  beaconAtHead?(): RoundBeacon
}

/** Whether a node may join a round that asks for `minReputationBp` (basis points; 0 asks nothing). */
export function meetsReputation(view: LedgerView, node: string, minReputationBp: number): boolean {
  return minReputationBp === 0 || (view.reputationPpm?.(node) ?? 0) >= minReputationBp * 100
}

/** Whether a node may join a round restricted to `operators` (none: every operator's nodes may). */
export function allowsOperator(view: LedgerView, node: string, operators: readonly string[] | undefined): boolean {
  if (operators === undefined) return true
  const op = view.operatorOf?.(node)
  return op !== undefined && operators.includes(op)
}

export const GENESIS_HEAD = sha256Hex('chorus/v1/genesis')

export function genesisLedgerView(judgeWeight: (node: string) => number = () => 1): LedgerView {
  return { head: () => GENESIS_HEAD, eligible: () => true, judgeWeight }
}
