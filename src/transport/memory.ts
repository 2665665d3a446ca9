import { MAX_ENVELOPE_BYTES } from '../protocol/limits.js'
import {
  type InboundMessage,
  type MessageHandler,
  type SendOptions,
  type TopicValidator,
  type Transport,
  TransportError,
} from './transport.js'

/**
 * An in-process network of endpoints. Delivery is asynchronous and FIFO per receiver; optional
 * latency (fixed or per message) and loss make it a stand-in for a real network in tests, and its
 * loss draws come from an injected random source so a test can make them deterministic.
 */
export interface MemoryNetworkOptions {
  /** Milliseconds per message, or a function of (from, to). 0 delivers on the next turn of the loop. */
  latencyMs?: number | ((from: string, to: string) => number)
  /** Probability that a message is silently lost. */
  lossRate?: number
  random?: () => number
  maxMessageBytes?: number
}

export class MemoryNetwork {
  private readonly endpoints = new Map<string, MemoryEndpoint>()
  private readonly subscribers = new Map<string, Map<string, TopicValidator | undefined>>()
  /** Messages each endpoint rejected, by the endpoint that sent them (peer scoring, for tests). */
  readonly penalties = new Map<string, number>()
  readonly options: Required<Omit<MemoryNetworkOptions, 'latencyMs'>> & {
    latencyMs: MemoryNetworkOptions['latencyMs']
  }

  constructor(options: MemoryNetworkOptions = {}) {
    this.options = {
      latencyMs: options.latencyMs ?? 0,
      lossRate: options.lossRate ?? 0,
      random: options.random ?? Math.random,
      maxMessageBytes: options.maxMessageBytes ?? MAX_ENVELOPE_BYTES + 1024,
    }
  }

  endpoint(id: string): Transport {
    if (this.endpoints.has(id))
      throw new TransportError('UNREACHABLE', `endpoint ${id.slice(0, 8)} already exists`)
    const ep = new MemoryEndpoint(this, id)
    this.endpoints.set(id, ep)
    return ep
  }

  /** @internal */
  subscribe(topic: string, id: string, validate: TopicValidator | undefined): void {
    let subs = this.subscribers.get(topic)
    if (subs === undefined) this.subscribers.set(topic, (subs = new Map()))
    subs.set(id, validate)
  }

  /** @internal */
  remove(id: string): void {
    this.endpoints.delete(id)
    for (const set of this.subscribers.values()) set.delete(id)
  }

  /** @internal */
  route(from: string, to: string | { topic: string }, data: Uint8Array): void {
    if (data.length > this.options.maxMessageBytes) {
      throw new TransportError('OVERSIZED', `${data.length} bytes exceeds ${this.options.maxMessageBytes}`)
    }
    if (typeof to === 'string') {
      const ep = this.endpoints.get(to)
      if (ep === undefined) throw new TransportError('UNREACHABLE', `no peer ${to.slice(0, 8)}`)
      this.deliver(from, ep, { data, report: (v) => this.penalize(from, v) })
      return
    }
    for (const [id, validate] of this.subscribers.get(to.topic) ?? []) {
      if (id === from) continue
      const ep = this.endpoints.get(id)
      if (ep !== undefined) this.deliver(from, ep, { data, topic: to.topic, report: (v) => this.penalize(from, v) }, validate)
    }
  }

  private penalize(from: string, verdict: string): void {
    if (verdict === 'reject') this.penalties.set(from, (this.penalties.get(from) ?? 0) + 1)
  }

  private deliver(from: string, ep: MemoryEndpoint, msg: InboundMessage, validate?: TopicValidator): void {
    const { lossRate, random, latencyMs } = this.options
    if (lossRate > 0 && random() < lossRate) return
    const delay = typeof latencyMs === 'function' ? latencyMs(from, ep.localId) : (latencyMs ?? 0)
    if (validate !== undefined) {
      // Like gossipsub: the validator runs before delivery, and only what it accepts arrives.
      const land = () =>
        void Promise.resolve()
          .then(() => validate(msg.data))
          .then(
            (v) => (v === 'accept' ? ep.receive(msg) : msg.report?.(v)),
            () => {},
          )
      if (delay > 0) setTimeout(land, delay)
      else land()
      return
    }
    if (delay > 0) setTimeout(() => ep.receive(msg), delay)
    else ep.enqueue(msg)
  }
}

class MemoryEndpoint implements Transport {
  handlerErrors = 0
  private readonly handlers = new Set<MessageHandler>()
  private readonly inbox: InboundMessage[] = []
  private scheduled = false
  private closed = false

  constructor(
    private readonly net: MemoryNetwork,
    readonly localId: string,
  ) {}

  subscribe(topic: string, validate?: TopicValidator): void {
    this.assertOpen()
    this.net.subscribe(topic, this.localId, validate)
  }

  async publish(topic: string, data: Uint8Array, options?: SendOptions): Promise<void> {
    this.check(options)
    this.net.route(this.localId, { topic }, data)
  }

  async send(to: string, data: Uint8Array, options?: SendOptions): Promise<void> {
    this.check(options)
    this.net.route(this.localId, to, data)
  }

  onMessage(handler: MessageHandler): () => void {
    this.handlers.add(handler)
    return () => this.handlers.delete(handler)
  }

  async close(): Promise<void> {
    this.closed = true
    this.inbox.length = 0
    this.net.remove(this.localId)
  }

  /** Queues for delivery on the next turn of the event loop, in arrival order. */
  enqueue(msg: InboundMessage): void {
    this.inbox.push(msg)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => this.drain())
    }
  }

  receive(msg: InboundMessage): void {
    if (this.closed) return
    for (const h of this.handlers) {
      try {
        h(msg)
      } catch {
        this.handlerErrors++
      }
    }
  }

  private drain(): void {
    this.scheduled = false
    const batch = this.inbox.splice(0)
    for (const msg of batch) this.receive(msg)
  }

  private check(options?: SendOptions): void {
    if (options?.signal?.aborted) throw new TransportError('ABORTED', 'aborted')
    this.assertOpen()
  }

  private assertOpen(): void {
    if (this.closed) throw new TransportError('CLOSED', 'endpoint closed')
  }
}
