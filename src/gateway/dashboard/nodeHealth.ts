import type { NodeInfo } from '../swarm.js'

/**
 * A node's state as the network page shows it: `online` (reporting, and eligible where a ledger
 * decides), `joining` (reporting, but not yet able to serve rounds: not registered, staked or
 * calibrated), or `unreachable` (its last report is older than `staleMs`). In-process nodes report
 * nothing and are online while the process is.
 */
export type NodeHealth = 'online' | 'joining' | 'unreachable'

export const STALE_MS = 30_000

/** `ledger`: whether the gateway runs on one (then a node it does not know is still joining). */
export function nodeHealth(info: NodeInfo, now: number, ledger: boolean, staleMs = STALE_MS): NodeHealth {
  if (info.lastSeen !== undefined && now - info.lastSeen > staleMs) return 'unreachable'
  if (ledger && !(info.ledger?.eligible ?? false)) return 'joining'
  return 'online'
}
