import { MIN_MEMBERS, QUERY_TOPIC } from '../protocol/limits.js'
import type { ChatMessage } from '../protocol/messages.js'
import type { Libp2pTransport } from '../transport/libp2p.js'
import type { CachedLedger, LedgerClient } from '../ledger/networkLedger.js'
import type { CoordinatorService } from './coordinatorService.js'
import { withStanding } from './nodeStanding.js'
import type { Paymaster } from './paymaster.js'
import type { NodeDirectory } from './nodeDirectory.js'
import { type AskOptions, type NodeInfo, requestTags, type RoundResult, type Swarm } from './swarm.js'

/**
 * The Swarm a gateway sees over libp2p: its nodes are the peers subscribed to the query topic that
 * a broadcast reaches now (with what each reports about itself), and a round closes its join window
 * as soon as all of them have joined (or at the deadline).
 */
export interface NetworkSwarmOptions {
  coordinator: CoordinatorService
  transport: Libp2pTransport
  directory?: NodeDirectory
  maxMembers?: number
  /** The network's ledger, where the gateway has one (requests are authorized and nodes shown with their standing). */
  ledger?: { network: CachedLedger; client: LedgerClient; paymaster: Paymaster }
}

export class NetworkSwarm implements Swarm {
  readonly minMembers = MIN_MEMBERS

  readonly authorize?: (payer: string | undefined, signal?: AbortSignal) => Promise<() => void>

  constructor(private readonly opts: NetworkSwarmOptions) {
    const paymaster = opts.ledger?.paymaster
    if (paymaster !== undefined) this.authorize = (payer, signal) => paymaster.authorize(payer ?? paymaster.id, signal)
  }

  private peers(): string[] {
    return this.opts.transport.subscribers(QUERY_TOPIC)
  }

  ask(messages: ChatMessage[], options: AskOptions): Promise<RoundResult> {
    const known = this.peers().length
    const maxMembers = Math.max(this.minMembers, Math.min(this.opts.maxMembers ?? 64, known))
    const tags = requestTags(options)
    return this.opts.coordinator.ask({ messages, minMembers: this.minMembers, maxMembers, joinTarget: Math.max(1, Math.min(known, maxMembers)), ...tags }, options)
  }

  async nodes(): Promise<NodeInfo[]> {
    const infos = this.peers().map((id): NodeInfo => {
      const r = this.opts.directory?.get(id)
      if (r === undefined) return { id }
      const s = r.status
      return { id, backend: s.backend, activeRounds: s.active, capacity: s.capacity, declined: { ...s.declined }, rejected: s.rejected, lastSeen: r.receivedAt, ...(s.domains ? { domains: s.domains } : {}) }
    })
    const l = this.opts.ledger
    return l === undefined ? infos : withStanding(infos, l.network, l.client)
  }

  rejections(): Map<string, number> {
    const total = new Map<string, number>(this.opts.coordinator.intake.rejections)
    for (const [code, n] of this.opts.directory?.intake.rejections ?? []) total.set(code, (total.get(code) ?? 0) + n)
    return total
  }
}
