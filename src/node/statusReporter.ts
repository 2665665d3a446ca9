import type { Identity } from '../crypto/identity.js'
import { signEnvelope } from '../protocol/envelope.js'
import { STATUS_ROUND, STATUS_TOPIC } from '../protocol/limits.js'
import type { NodeStatusBody } from '../protocol/messages.js'
import type { Clock } from '../runtime/clock.js'
import type { Transport } from '../transport/transport.js'

/**
 * Gossips a node's own signed report of its state (backend, capacity, rounds held, declines) for
 * gateways to show at GET /v1/nodes. It looks every `checkMs` and publishes when something changed,
 * and at least every `everyMs` so a gateway that joins later learns it too. The seq grows with the
 * clock, so a gateway keeps only the newest report and a replayed one changes nothing.
 */
export interface StatusReporterInit {
  identity: Identity
  transport: Transport
  clock: Clock
  status: () => Omit<NodeStatusBody, 'at'>
  everyMs?: number
  checkMs?: number
  onError?: (err: unknown) => void
}

export class StatusReporter {
  private seq = 0
  private last = ''
  private lastAt = Number.NEGATIVE_INFINITY
  private cancel: (() => void) | undefined

  constructor(private readonly init: StatusReporterInit) {}

  start(): void {
    const loop = () => {
      this.report()
      this.cancel = this.init.clock.setTimer(this.init.checkMs ?? 1_000, loop)
    }
    loop()
  }

  stop(): void {
    this.cancel?.()
    this.cancel = undefined
  }

  private report(): void {
    const now = this.init.clock.now()
    const status = this.init.status()
    const text = JSON.stringify(status)
    if (text === this.last && now - this.lastAt < (this.init.everyMs ?? 10_000)) return
    this.last = text
    this.lastAt = now
    this.seq = Math.max(this.seq + 1, now)
    const msg = signEnvelope(this.init.identity, { type: 'NodeStatus', round: STATUS_ROUND, seq: this.seq, body: { ...status, at: now } })
    this.init.transport.publish(STATUS_TOPIC, msg.wire).catch((err) => this.init.onError?.(err))
  }
}
