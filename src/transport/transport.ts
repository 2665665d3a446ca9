/**
 * How runtimes move bytes: gossip for broadcasts (a round's Query) and point-to-point for the
 * round's own traffic. Transports move opaque bytes and vouch for nothing: who sent a message is
 * decided by its signature, never by the transport.
 */
export interface InboundMessage {
  readonly data: Uint8Array
  /** Set for gossip; absent for point-to-point messages. */
  readonly topic?: string
  /**
   * Tells the transport how the receiver judged this message, for peer scoring: 'reject' means
   * the peer that delivered it sent junk (bad signature, bad schema) and is penalised.
   */
  readonly report?: (verdict: Validation) => void
}

/**
 * A receiver's verdict on a message: 'accept' it (and, for gossip, forward it), 'ignore' it (late,
 * repeated or not for us: no fault), or 'reject' it (invalid: penalise the peer that sent it).
 */
export type Validation = 'accept' | 'ignore' | 'reject'

/** Checks a gossip message before it is delivered or forwarded to other peers. */
export type TopicValidator = (data: Uint8Array) => Validation | Promise<Validation>

export type MessageHandler = (msg: InboundMessage) => void

export interface SendOptions {
  signal?: AbortSignal
}

export interface Transport {
  /** The node id this endpoint is reachable as. */
  readonly localId: string
  /**
   * Receives gossip on `topic`. With a validator, a message it rejects or ignores is neither
   * delivered here nor forwarded, and a rejection counts against the peer that sent it.
   */
  subscribe(topic: string, validate?: TopicValidator): void
  /** Gossip to every subscriber of `topic` except this endpoint. */
  publish(topic: string, data: Uint8Array, options?: SendOptions): Promise<void>
  /** Deliver to one peer. Rejects with UNREACHABLE if the peer is unknown or gone. */
  send(to: string, data: Uint8Array, options?: SendOptions): Promise<void>
  /**
   * Registers a handler; returns a function that removes it. A handler that throws is a bug in the
   * receiver: the transport contains it (counts it in `handlerErrors`) and keeps delivering.
   */
  onMessage(handler: MessageHandler): () => void
  /** Exceptions thrown by handlers and contained here. */
  readonly handlerErrors: number
  close(): Promise<void>
}

export type TransportErrorCode = 'UNREACHABLE' | 'OVERSIZED' | 'CLOSED' | 'ABORTED'

export class TransportError extends Error {
  constructor(
    readonly code: TransportErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'TransportError'
  }
}
