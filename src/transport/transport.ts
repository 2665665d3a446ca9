/**
 * How runtimes move bytes: gossip for broadcasts (a round's Query) and point-to-point for the
 * round's own traffic. Transports move opaque bytes and vouch for nothing: who sent a message is
 * decided by its signature, never by the transport.
 */
export interface InboundMessage {
  readonly data: Uint8Array
  /** Set for gossip; absent for point-to-point messages. */
  readonly topic?: string
}

export type MessageHandler = (msg: InboundMessage) => void

export interface SendOptions {
  signal?: AbortSignal
}

export interface Transport {
  /** The node id this endpoint is reachable as. */
  readonly localId: string
  subscribe(topic: string): void
  /** Gossip to every subscriber of `topic` except this endpoint. */
  publish(topic: string, data: Uint8Array, options?: SendOptions): Promise<void>
  /** Deliver to one peer. Rejects with UNREACHABLE if the peer is unknown or gone. */
  send(to: string, data: Uint8Array, options?: SendOptions): Promise<void>
  /** Registers a handler; returns a function that removes it. */
  onMessage(handler: MessageHandler): () => void
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
