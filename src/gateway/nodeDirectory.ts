import type { PublicKeyCache } from '../crypto/identity.js'
import type { Signed } from '../protocol/envelope.js'
import { ProtocolError } from '../protocol/errors.js'
import { STATUS_ROUND, STATUS_TOPIC } from '../protocol/limits.js'
import type { NodeStatusBody } from '../protocol/messages.js'
import { BoundedMap } from '../runtime/boundedMap.js'
import type { Clock } from '../runtime/clock.js'
import { MessageIntake, type Verification } from '../runtime/intake.js'
import type { Transport, Validation } from '../transport/transport.js'

/**
 * What nodes report about themselves (their signed NodeStatus gossip), newest per node. A gateway
 * lists its nodes from the query topic's subscribers and fills in each one's report from here. A
 * report is the node's own word: it is shown, never trusted for anything else. Bounded: one entry
 * per reporting key, at most `maxNodes`.
 */
export interface NodeReport {
  status: NodeStatusBody
  seq: number
  /** When this gateway received it. */
  receivedAt: number
}

/** How far a report's own time may differ from ours before it is ignored as stale or bogus. */
const MAX_SKEW_MS = 5 * 60_000

export class NodeDirectory {
  readonly intake: MessageIntake
  private readonly reports: BoundedMap<string, NodeReport>
  private unsubscribe: (() => void) | undefined

  constructor(
    private readonly transport: Transport,
    private readonly clock: Clock,
    options: { verification?: Verification; keys?: PublicKeyCache; maxNodes?: number } = {},
  ) {
    this.intake = new MessageIntake(options)
    this.reports = new BoundedMap(options.maxNodes ?? 4096)
  }

  start(): void {
    this.transport.subscribe(STATUS_TOPIC, (data) => this.screen(data))
    this.unsubscribe = this.transport.onMessage((m) => {
      if (m.topic === STATUS_TOPIC) this.intake.submit(m.data, (msg) => this.onStatus(msg), m.report)
    })
  }

  stop(): void {
    this.unsubscribe?.()
  }

  get(node: string): NodeReport | undefined {
    return this.reports.get(node)
  }

  private async screen(data: Uint8Array): Promise<Validation> {
    try {
      this.check(await this.intake.screen(data))
      return 'accept'
    } catch (err) {
      this.intake.reject(err)
      return err instanceof ProtocolError ? err.action : 'ignore'
    }
  }

  private check(msg: Signed): Signed<'NodeStatus'> {
    if (msg.env.type !== 'NodeStatus' || msg.env.round !== STATUS_ROUND) throw new ProtocolError('WRONG_ROUND', `${msg.env.type} on the status topic`)
    const s = msg as Signed<'NodeStatus'>
    if (Math.abs(s.env.body.at - this.clock.now()) > MAX_SKEW_MS) throw new ProtocolError('EXPIRED', 'status report too far from our clock')
    return s
  }

  private onStatus(msg: Signed): void {
    const s = this.check(msg)
    const prev = this.reports.get(s.env.from)
    if (prev !== undefined && prev.seq >= s.env.seq) throw new ProtocolError('REPLAY', 'an older status report')
    this.reports.set(s.env.from, { status: s.env.body, seq: s.env.seq, receivedAt: this.clock.now() })
  }
}
