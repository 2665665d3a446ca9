import { noise } from '@chainsafe/libp2p-noise'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { gossipsub, TopicValidatorResult } from '@libp2p/gossipsub'
import { createTopicScoreParams } from '@libp2p/gossipsub/score'
import { identify } from '@libp2p/identify'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { MAX_ENVELOPE_BYTES, QUERY_TOPIC, STATUS_TOPIC } from '../protocol/limits.js'
import { FrameDecoder, encodeFrame } from './frames.js'
import { DEFAULT_PENALTIES, type PenaltyOptions, PeerPenalties } from './peerPenalties.js'
import { type InboundMessage, type MessageHandler, type SendOptions, type TopicValidator, type Transport, TransportError, type Validation } from './transport.js'

/**
 * The Transport over js-libp2p 3: TCP, noise, yamux, identify and ping; gossipsub carries
 * broadcasts; each peer pair keeps one long-lived stream on `/chorus/round/1` for point-to-point
 * round traffic, framed with a length prefix and capped in size. The node's ed25519 key is its libp2p
 * identity, so a node id (hex public key) names its peer id. Peers are found through a bootstrap
 * list and mdns (mdns only reports peers: they are dialed here).
 *
 * NAT: members always dial their coordinator and round traffic rides that connection, so a node
 * behind NAT needs nothing more. A host that cannot be dialled at all (a gateway at home) listens on
 * `/p2p-circuit` instead: it reserves a slot on a relay it is connected to (a host started with
 * `relay: true`), and peers reach it through `<relay address>/p2p-circuit/p2p/<its id>`.
 */
export const ROUND_PROTOCOL = '/chorus/round/1.0.0'

export interface Libp2pTransportInit {
  /** The node's 32-byte ed25519 seed (the same key that signs its messages). */
  seed: Uint8Array
  listen?: string[]
  bootstrap?: string[]
  mdns?: boolean
  maxMessageBytes?: number
  /**
   * Relay for hosts that cannot be dialled (circuit relay v2). Relayed connections are not limited
   * in time or bytes, because rounds run over them; `maxReservations` bounds how many hosts it serves.
   */
  relay?: boolean | { maxReservations: number }
  /** With a `/p2p-circuit` listen address: how long to wait for a relay reservation (default 15 s). */
  relayWaitMs?: number
  /** When a peer that keeps sending junk point-to-point is banned (peerPenalties.ts). */
  penalties?: Partial<Omit<PenaltyOptions, 'now'>>
}

/**
 * Gossipsub's score for the Chorus topics counts only invalid messages (a validator's rejection):
 * each costs its sender 10 points squared, so three put it past the graylist threshold (−80) and
 * its gossip is ignored; the count decays by a tenth a second. Delivery quotas are off: Queries are
 * rare, and an honest mesh peer must not be penalised for having nothing to forward.
 */
const TOPIC_SCORE = createTopicScoreParams({
  topicWeight: 1,
  timeInMeshWeight: 0,
  firstMessageDeliveriesWeight: 0,
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  invalidMessageDeliveriesWeight: -10,
  invalidMessageDeliveriesDecay: 0.9,
})
const VALIDATION: Record<Validation, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject,
}

/** js-libp2p 3 calls Promise.withResolvers, which Node 20 lacks. */
function ensurePromiseWithResolvers(): void {
  const P = Promise as unknown as { withResolvers?: unknown }
  if (typeof P.withResolvers === 'function') return
  P.withResolvers = function withResolvers<T>() {
    let resolve!: (v: T) => void
    let reject!: (e: unknown) => void
    const promise = new Promise<T>((res, rej) => {
      resolve = res
      reject = rej
    })
    return { promise, resolve, reject }
  }
}

export function peerIdOf(nodeId: string): PeerId {
  return peerIdFromPublicKey(publicKeyFromRaw(Buffer.from(nodeId, 'hex')))
}

export async function createLibp2pTransport(init: Libp2pTransportInit): Promise<Libp2pTransport> {
  ensurePromiseWithResolvers()
  const relayed = init.listen?.some((a) => a.endsWith('/p2p-circuit')) ?? false
  if (relayed && (init.bootstrap ?? []).length === 0 && !init.mdns) {
    throw new TransportError('UNREACHABLE', 'listening on /p2p-circuit needs a relay among the bootstrap peers (a host started with --relay)')
  }
  const privateKey = await generateKeyPairFromSeed('Ed25519', init.seed)
  const penalties = new PeerPenalties({ ...DEFAULT_PENALTIES, ...init.penalties, now: () => Date.now() })
  const max = init.maxMessageBytes ?? MAX_ENVELOPE_BYTES + 1024
  const peerDiscovery = []
  if (init.bootstrap && init.bootstrap.length > 0) peerDiscovery.push(bootstrap({ list: init.bootstrap, timeout: 0 }))
  if (init.mdns) peerDiscovery.push(mdns({ interval: 1000 }))
  const node = await createLibp2p({
    privateKey,
    addresses: { listen: init.listen ?? ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    // A peer banned for sending junk may not connect again until its ban ends.
    connectionGater: {
      denyDialPeer: (peer: PeerId) => penalties.banned(peer.toString()),
      denyInboundEncryptedConnection: (peer: PeerId) => penalties.banned(peer.toString()),
      denyOutboundEncryptedConnection: (peer: PeerId) => penalties.banned(peer.toString()),
    },
    // Every devnet peer dials from 127.0.0.1: the default per-host inbound limit (5/s) would
    // silently turn most of them away.
    connectionManager: { inboundConnectionThreshold: 1000, maxIncomingPendingConnections: 256, maxConnections: 2048 },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        floodPublish: true,
        emitSelf: false,
        // Every Chorus message is signed inside (its envelope) and verified by the receiver, so
        // gossipsub's own signature would only cost a second ed25519 sign and verify per broadcast.
        // Without it, messages are identified by their content's hash.
        globalSignaturePolicy: 'StrictNoSign',
        maxInboundDataLength: max,
        // Peer scoring penalises many peers behind one IP (a Sybil signal on the internet); on
        // loopback every devnet peer shares 127.0.0.1, and past ten of them all would be graylisted.
        scoreParams: {
          IPColocationFactorWhitelist: new Set(['127.0.0.1', '::1']),
          topics: { [QUERY_TOPIC]: TOPIC_SCORE, [STATUS_TOPIC]: TOPIC_SCORE },
        },
      }),
      ...(init.relay
        ? {
            relay: circuitRelayServer({
              reservations: {
                maxReservations: typeof init.relay === 'object' ? init.relay.maxReservations : 64,
                applyDefaultLimit: false,
              },
            }),
          }
        : {}),
    },
  })
  const t = new Libp2pTransport(node as unknown as Libp2pWithPubsub, Buffer.from(privateKey.publicKey.raw).toString('hex'), max, penalties)
  await t.start(init.bootstrap ?? [])
  if (relayed) {
    try {
      await t.relayAddress(init.relayWaitMs ?? 15_000)
    } catch (err) {
      await t.close()
      throw err
    }
  }
  return t
}

interface Pubsub {
  subscribe(topic: string): void
  readonly topicValidators: Map<string, (peer: PeerId, msg: { data: Uint8Array }) => Promise<TopicValidatorResult>>
  publish(topic: string, data: Uint8Array): Promise<unknown>
  getSubscribers(topic: string): PeerId[]
  /** Gossipsub's outbound streams by peer id: a publish reaches only the peers listed here. */
  readonly streamsOutbound: ReadonlyMap<string, unknown>
  addEventListener(
    type: 'gossipsub:message',
    fn: (e: CustomEvent<{ propagationSource: PeerId; msg: { topic: string; data: Uint8Array } }>) => void,
  ): void
}
type Libp2pWithPubsub = Libp2p<{ pubsub: Pubsub }>

interface Outgoing {
  frame: Uint8Array
  signal: AbortSignal | undefined
  resolve: () => void
  reject: (err: unknown) => void
}

export class Libp2pTransport implements Transport {
  handlerErrors = 0
  /** Peers banned for sending junk point-to-point. */
  bannedPeers = 0
  private readonly handlers = new Set<MessageHandler>()
  private readonly outbound = new Map<string, Promise<Stream>>()
  /** Frames waiting for the end of this turn, by peer. */
  private readonly queued = new Map<string, Outgoing[]>()
  private closed = false
  private stopRedial: NodeJS.Timeout | undefined

  constructor(
    readonly node: Libp2pWithPubsub,
    readonly localId: string,
    private readonly maxBytes: number,
    private readonly penalties: PeerPenalties,
  ) {}

  /** Resolves with this host's relayed addresses once a relay has given it a reservation. */
  async relayAddress(timeoutMs: number): Promise<string[]> {
    const end = Date.now() + timeoutMs
    for (;;) {
      const relayed = this.multiaddrs().filter((a) => a.includes('/p2p-circuit'))
      if (relayed.length > 0) return relayed
      if (Date.now() > end) {
        throw new TransportError('UNREACHABLE', `no relay reservation after ${timeoutMs / 1000} s: a bootstrap peer must be a relay (started with --relay)`)
      }
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** Addresses other processes can dial (with this peer's id). */
  multiaddrs(): string[] {
    return this.node.getMultiaddrs().map((a) => a.toString())
  }

  async start(bootstrapPeers: readonly string[] = []): Promise<void> {
    if (bootstrapPeers.length > 0) this.keepConnected(bootstrapPeers)
    await this.node.handle(ROUND_PROTOCOL, (stream, connection) => this.readStream(stream, connection.remotePeer), { maxInboundStreams: 1024 })
    // Gossip reaches handlers only after the topic's validator accepted it (gossipsub scores the
    // sender of what it rejects); point-to-point frames are scored here.
    this.node.services.pubsub.addEventListener('gossipsub:message', (e) => this.deliver({ data: e.detail.msg.data, topic: e.detail.msg.topic }))
    // mdns and bootstrap only report peers; connect to them so gossip and round streams can flow.
    this.node.addEventListener('peer:discovery', (e) => {
      if (this.closed) return
      this.node.dial(e.detail.id).catch(() => {})
    })
  }

  subscribe(topic: string, validate?: TopicValidator): void {
    this.assertOpen()
    const ps = this.node.services.pubsub
    if (validate !== undefined) {
      ps.topicValidators.set(topic, async (_peer, msg) => {
        try {
          return VALIDATION[await validate(msg.data)]
        } catch {
          this.handlerErrors++
          return TopicValidatorResult.Ignore
        }
      })
    }
    ps.subscribe(topic)
  }

  /**
   * The node ids subscribed to `topic` that a publish would reach now. A peer's subscription
   * arrives on its own stream, before ours to it is open (over a relay, by a few hundred ms); a
   * message published in between never reaches it.
   */
  subscribers(topic: string): string[] {
    const ps = this.node.services.pubsub
    const ids: string[] = []
    for (const p of ps.getSubscribers(topic)) {
      if (p.publicKey === undefined || !ps.streamsOutbound.has(p.toString())) continue
      ids.push(Buffer.from(p.publicKey.raw).toString('hex'))
    }
    return ids
  }

  async publish(topic: string, data: Uint8Array, options?: SendOptions): Promise<void> {
    this.check(data, options)
    await this.node.services.pubsub.publish(topic, data)
  }

  /**
   * Queues a frame for `to`; the frames queued for one peer in one turn of the event loop leave
   * together, as one muxer frame, one encryption and one socket write (a coordinator sends each
   * judge the reveals seal and three answers at once). Order per peer is kept.
   */
  async send(to: string, data: Uint8Array, options?: SendOptions): Promise<void> {
    this.check(data, options)
    return new Promise((resolve, reject) => {
      let batch = this.queued.get(to)
      if (batch === undefined) {
        this.queued.set(to, (batch = []))
        queueMicrotask(() => void this.flush(to))
      }
      batch.push({ frame: encodeFrame(data), signal: options?.signal, resolve, reject })
    })
  }

  private async flush(to: string): Promise<void> {
    const batch = this.queued.get(to) ?? []
    this.queued.delete(to)
    const live = batch.filter((o) => {
      if (o.signal?.aborted) o.reject(new TransportError('ABORTED', 'aborted'))
      return !o.signal?.aborted
    })
    if (live.length === 0) return
    try {
      let stream: Stream
      try {
        stream = await this.streamTo(to)
      } catch (err) {
        throw err instanceof TransportError ? err : new TransportError('UNREACHABLE', `cannot reach ${to.slice(0, 8)}: ${(err as Error).message}`)
      }
      if (!stream.send(live.length === 1 ? live[0]!.frame : Buffer.concat(live.map((o) => o.frame)))) await stream.onDrain()
      for (const o of live) o.resolve()
    } catch (err) {
      for (const o of live) o.reject(err)
    }
  }

  onMessage(handler: MessageHandler): () => void {
    this.handlers.add(handler)
    return () => this.handlers.delete(handler)
  }

  /**
   * Bootstrap peers are dialled once by libp2p; this keeps dialling any that are not connected (a
   * gateway that started later, or restarted), every `everyMs`.
   */
  private keepConnected(addrs: readonly string[], everyMs = 1000): void {
    const tick = async () => {
      for (const a of addrs) {
        if (this.closed) return
        const ma = multiaddr(a)
        const peer = ma.getComponents().find((c) => c.name === 'p2p')?.value
        if (peer !== undefined && this.node.getConnections().some((c) => c.remotePeer.toString() === peer)) continue
        await this.node.dial(ma).catch(() => {})
      }
    }
    void tick()
    this.stopRedial = setInterval(() => void tick(), everyMs)
    this.stopRedial.unref()
  }

  async close(): Promise<void> {
    clearInterval(this.stopRedial)
    this.closed = true
    this.handlers.clear()
    await this.node.stop()
  }

  /** One reused outbound stream per peer; a dead one is dropped and the next send redials. */
  private streamTo(to: string): Promise<Stream> {
    let s = this.outbound.get(to)
    if (s === undefined) {
      let peer: PeerId
      try {
        peer = peerIdOf(to)
      } catch {
        return Promise.reject(new TransportError('UNREACHABLE', `not a node id: ${to.slice(0, 16)}`))
      }
      s = this.node.dialProtocol(peer, ROUND_PROTOCOL).then((stream) => {
        const forget = () => {
          if (this.outbound.get(to) === s) this.outbound.delete(to)
        }
        stream.addEventListener('close', forget)
        return stream
      })
      s.catch(() => this.outbound.delete(to))
      this.outbound.set(to, s)
    }
    return s.then((stream) => {
      if (stream.status !== 'open' || stream.writeStatus !== 'writable') {
        this.outbound.delete(to)
        return this.streamTo(to)
      }
      return stream
    })
  }

  private readStream(stream: Stream, peer: PeerId): void {
    const who = peer.toString()
    if (this.penalties.banned(who)) {
      stream.abort(new Error('banned'))
      return
    }
    const decoder = new FrameDecoder(this.maxBytes)
    const report = (v: Validation) => {
      if (v === 'reject' && this.penalties.penalize(who)) {
        this.bannedPeers++
        void this.node.hangUp(peer).catch(() => {})
      }
    }
    stream.addEventListener('message', (e) => {
      const chunk = e.data
      let frames: Uint8Array[]
      try {
        frames = decoder.push(chunk instanceof Uint8Array ? chunk : chunk.subarray())
      } catch {
        // An oversized frame: this peer is not speaking the protocol; drop the stream.
        report('reject')
        stream.abort(new Error('frame too large'))
        return
      }
      for (const frame of frames) this.deliver({ data: frame, report })
    })
  }

  /** Hands a message to every handler; a handler's exception is a bug there, contained here. */
  private deliver(msg: InboundMessage): void {
    if (this.closed) return
    for (const h of this.handlers) {
      try {
        h(msg)
      } catch {
        this.handlerErrors++
      }
    }
  }

  private check(data: Uint8Array, options?: SendOptions): void {
    if (options?.signal?.aborted) throw new TransportError('ABORTED', 'aborted')
    this.assertOpen()
    if (data.length > this.maxBytes) throw new TransportError('OVERSIZED', `${data.length} bytes exceeds ${this.maxBytes}`)
  }

  private assertOpen(): void {
    if (this.closed) throw new TransportError('CLOSED', 'transport closed')
  }
}
