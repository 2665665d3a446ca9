import type { ChatMessage } from '../protocol/messages.js'
import type { AskOptions, RoundResult } from './coordinatorService.js'

/**
 * What the HTTP API needs from a swarm, whether its nodes run in this process or across a network:
 * run a round, list the nodes it knows, and count the protocol messages it dropped.
 */
export interface NodeInfo {
  id: string
  backend?: string
  activeRounds?: number
  /** Rounds declined, by reason (capacity, policy, ineligible). */
  declined?: Record<string, number>
}

export interface Swarm {
  ask(messages: ChatMessage[], options: AskOptions & { timeoutMs?: number }): Promise<RoundResult>
  nodes(): NodeInfo[]
  rejections(): Map<string, number>
  /** Fewest members a round needs; readiness means at least this many nodes. */
  readonly minMembers: number
}
