import { describe, expect, it } from 'vitest'
import { hashParts } from '../../src/crypto/hash.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { FrameDecoder, encodeFrame } from '../../src/transport/frames.js'
import { createLibp2pTransport, type Libp2pTransport } from '../../src/transport/libp2p.js'
import { transportCompliance } from './compliance.js'

const seed = (i: number) => Buffer.from(hashParts('libp2p-test', String(i)), 'hex')

async function network(n: number, maxMessageBytes = 4096): Promise<Libp2pTransport[]> {
  const ts = await Promise.all(Array.from({ length: n }, (_, i) => createLibp2pTransport({ seed: seed(i), maxMessageBytes })))
  // A full mesh on loopback, dialled explicitly.
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) await ts[i]!.node.dial(ts[j]!.node.getMultiaddrs()[0]!)
  return ts
}

transportCompliance(
  'libp2p',
  async (n) => {
    const endpoints = await network(n)
    return {
      endpoints,
      close: async () => void (await Promise.all(endpoints.map((e) => e.close().catch(() => {})))),
      async settle(topic) {
        const end = Date.now() + 5000
        for (const t of endpoints) {
          const subscribed = endpoints.filter((o) => o !== t && (o.node.services.pubsub as unknown as { getTopics(): string[] }).getTopics().includes(topic))
          while (t.subscribers(topic).length < subscribed.length && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
        }
      },
    }
  },
  { maxBytes: 4096 },
)

describe('libp2p specifics', () => {
  it('uses the node key as the peer identity', async () => {
    const [t] = await network(1)
    try {
      expect(t!.localId).toBe(identityFromSeed(seed(0)).id)
      expect(t!.multiaddrs()[0]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3Koo/)
    } finally {
      await t!.close()
    }
  })

  it('frames survive any chunking, and an oversized frame is refused before it is buffered', () => {
    const frames = [Buffer.from('a'), Buffer.alloc(0), Buffer.from('hello world')]
    const wire = Buffer.concat(frames.map((f) => Buffer.from(encodeFrame(f))))
    for (const size of [1, 2, 5, 100]) {
      const d = new FrameDecoder(64)
      const got: string[] = []
      for (let i = 0; i < wire.length; i += size) for (const f of d.push(wire.subarray(i, i + size))) got.push(Buffer.from(f).toString())
      expect(got).toEqual(['a', '', 'hello world'])
    }
    const d = new FrameDecoder(8)
    expect(() => d.push(encodeFrame(Buffer.alloc(9)))).toThrow(expect.objectContaining({ code: 'OVERSIZED' }))
  })

  it('reconnects to a peer that restarted', async () => {
    const [a, b] = await network(2)
    try {
      const got: string[] = []
      b!.onMessage((m) => got.push(Buffer.from(m.data).toString()))
      await a!.send(b!.localId, Buffer.from('one'))
      for (let k = 0; k < 100 && got.length === 0; k++) await new Promise((r) => setTimeout(r, 20))
      const addr = b!.node.getMultiaddrs()[0]!
      await b!.close()
      const b2 = await createLibp2pTransport({ seed: seed(1), listen: [addr.toString().replace(/\/p2p\/.*$/, '')], maxMessageBytes: 4096 })
      try {
        const got2: string[] = []
        b2.onMessage((m) => got2.push(Buffer.from(m.data).toString()))
        let sent = false
        for (let k = 0; k < 20 && !sent; k++) {
          sent = await a!.send(b2.localId, Buffer.from('two')).then(
            () => true,
            () => new Promise((r) => setTimeout(() => r(false), 100)),
          )
        }
        const end = Date.now() + 3000
        while (got2.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
        expect(got).toEqual(['one'])
        expect(got2).toEqual(['two'])
      } finally {
        await b2.close()
      }
    } finally {
      await a!.close()
    }
  }, 20_000)
  it('bans a peer whose point-to-point messages keep being rejected: its connection closes and it cannot come back', async () => {
    const [a, b] = await network(2)
    try {
      let received = 0
      // The receiver judges every message junk (as its intake does a forged one).
      b!.onMessage((m) => {
        received++
        m.report?.('reject')
      })
      // Points decay a little between messages: the limit (20) is crossed on the 21st.
      for (let i = 0; i < 21; i++) await a!.send(b!.localId, Uint8Array.from([i]))
      for (let k = 0; k < 100 && b!.bannedPeers === 0; k++) await new Promise((r) => setTimeout(r, 20))
      expect(b!.bannedPeers).toBe(1)
      const before = received
      for (let k = 0; k < 100 && b!.node.getConnections().length > 0; k++) await new Promise((r) => setTimeout(r, 20))
      expect(b!.node.getConnections()).toHaveLength(0)
      // Redialling is refused by the receiver's gate while the ban lasts: nothing more arrives.
      await a!.node.dial(b!.node.getMultiaddrs()[0]!).catch(() => {})
      await a!.send(b!.localId, Uint8Array.from([99])).catch(() => {})
      await new Promise((r) => setTimeout(r, 200))
      expect(received).toBe(before)
      expect(b!.node.getConnections()).toHaveLength(0)
    } finally {
      await Promise.all([a!.close(), b!.close()])
    }
  }, 20_000)
})
