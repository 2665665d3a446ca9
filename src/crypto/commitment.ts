import { hashParts } from './hash.js'

/**
 * A commitment `H(roundId‖nodeId‖payload‖salt)`: binds a node to a payload (an answer, or its
 * verdicts) before anyone can see it, and opens only with the same payload and salt.
 */
export function commitment(roundId: string, nodeId: string, payload: string, salt: string): string {
  return hashParts('commit', roundId, nodeId, payload, salt)
}
