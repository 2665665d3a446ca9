import { QUERY_TOPIC } from '../protocol/limits.js'
import type { ChatMessage } from '../protocol/messages.js'
import type { Libp2pTransport } from '../transport/libp2p.js'
import type { AskOptions, CoordinatorService, RoundResult } from './coordinatorService.js'
import type { NodeInfo, Swarm } from './swarm.js'

/**
 * The Swarm a gateway sees over libp2p: its nodes are the peers subscribed to the query topic that
 * a broadcast reaches now, and a round closes its join window as soon as all of them have joined
 * (or at the deadline).
 */
export interface NetworkSwarmOptions {
  coordinator: CoordinatorService
  transport: Libp2pTransport
  maxMembers?: number
}

export class NetworkSwarm implements Swarm {
  readonly minMembers = 3

  constructor(private readonly opts: NetworkSwarmOptions) {}

  private peers(): string[] {
    return this.opts.transport.subscribers(QUERY_TOPIC)
  }

  ask(messages: ChatMessage[], options: AskOptions): Promise<RoundResult> {
    const known = this.peers().length
    const maxMembers = Math.max(1, Math.min(this.opts.maxMembers ?? 64, Math.max(known, this.minMembers)))
    return this.opts.coordinator.ask(
      { messages, minMembers: Math.min(this.minMembers, maxMembers), maxMembers, joinTarget: Math.max(1, Math.min(known, maxMembers)) },
      options,
    )
  }

  nodes(): NodeInfo[] {
    return this.peers().map((id) => ({ id }))
  }

  rejections(): Map<string, number> {
    return new Map(this.opts.coordinator.intake.rejections)
  }
}
