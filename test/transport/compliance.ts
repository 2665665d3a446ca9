import { afterEach, describe, expect, it } from 'vitest'
import type { InboundMessage, Transport } from '../../src/transport/transport.js'

/**
 * The behaviour every Transport must show. Each implementation's test file calls this with a
 * factory that builds a fresh network of `n` connected endpoints (and tears it down).
 */
export interface TransportFixture {
  endpoints: Transport[]
  close(): Promise<void>
  /** Waits until subscriptions to `topic` are known network-wide (gossip learns them asynchronously). */
  settle?(topic: string): Promise<void>
}

export function transportCompliance(
  name: string,
  make: (n: number) => Promise<TransportFixture>,
  opts: { maxBytes: number },
) {
  describe(`transport compliance: ${name}`, () => {
    let fx: TransportFixture | undefined
    afterEach(async () => {
      await fx?.close()
      fx = undefined
    })

    const collect = (t: Transport) => {
      const got: InboundMessage[] = []
      t.onMessage((m) => got.push(m))
      return got
    }
    const until = async (cond: () => boolean, ms = 5000) => {
      const end = Date.now() + ms
      while (!cond()) {
        if (Date.now() > end) throw new Error('timed out waiting for delivery')
        await new Promise((r) => setTimeout(r, 5))
      }
    }

    it('delivers point-to-point to exactly the addressee, bytes intact', async () => {
      fx = await make(3)
      const [a, b, c] = fx.endpoints as [Transport, Transport, Transport]
      const gotB = collect(b)
      const gotC = collect(c)
      const data = Uint8Array.from([0, 1, 2, 255, 128])
      await a.send(b.localId, data)
      await until(() => gotB.length === 1)
      expect(Buffer.from(gotB[0]!.data).equals(Buffer.from(data))).toBe(true)
      expect(gotB[0]!.topic).toBeUndefined()
      await new Promise((r) => setTimeout(r, 30))
      expect(gotC).toHaveLength(0)
    })

    it('keeps order between one sender and one receiver', async () => {
      fx = await make(2)
      const [a, b] = fx.endpoints as [Transport, Transport]
      const got = collect(b)
      for (let i = 0; i < 50; i++) await a.send(b.localId, Uint8Array.from([i]))
      await until(() => got.length === 50)
      expect(got.map((m) => m.data[0])).toEqual(Array.from({ length: 50 }, (_, i) => i))
      // Sent in one turn without waiting (a transport may batch them): still in order, each intact.
      const burst = Array.from({ length: 20 }, (_, i) => new Uint8Array(1 + ((i * 997) % 3000)).fill(i))
      await Promise.all(burst.map((m) => a.send(b.localId, m)))
      await until(() => got.length === 70)
      expect(got.slice(50).map((m) => Buffer.from(m.data))).toEqual(burst.map((m) => Buffer.from(m)))
    })

    it('gossips to every subscriber but the publisher, and only to subscribers', async () => {
      fx = await make(4)
      const [a, b, c, d] = fx.endpoints as [Transport, Transport, Transport, Transport]
      for (const t of [a, b, c]) t.subscribe('topic/x')
      await fx.settle?.('topic/x')
      const got = [a, b, c, d].map(collect)
      await a.publish('topic/x', Uint8Array.from([7]))
      await until(() => got[1]!.length === 1 && got[2]!.length === 1)
      await new Promise((r) => setTimeout(r, 30))
      expect(got[0]).toHaveLength(0)
      expect(got[3]).toHaveLength(0)
      expect(got[1]![0]!.topic).toBe('topic/x')
    })

    it('refuses an unknown peer, an oversized message, an aborted send and a closed endpoint', async () => {
      fx = await make(2)
      const [a, b] = fx.endpoints as [Transport, Transport]
      await expect(a.send('00'.repeat(32), Uint8Array.from([1]))).rejects.toMatchObject({
        code: 'UNREACHABLE',
      })
      await expect(a.send(b.localId, new Uint8Array(opts.maxBytes + 1))).rejects.toMatchObject({
        code: 'OVERSIZED',
      })
      const ac = new AbortController()
      ac.abort()
      await expect(a.send(b.localId, Uint8Array.from([1]), { signal: ac.signal })).rejects.toMatchObject({
        code: 'ABORTED',
      })
      await b.close()
      await expect(a.send(b.localId, Uint8Array.from([1]))).rejects.toMatchObject({ code: 'UNREACHABLE' })
      await expect(b.send(a.localId, Uint8Array.from([1]))).rejects.toMatchObject({ code: 'CLOSED' })
    })

    it('delivers only gossip its validator accepts, and keeps delivering after a handler throws', async () => {
      fx = await make(3)
      const [a, b, c] = fx.endpoints as [Transport, Transport, Transport]
      b.subscribe('topic/v', (data) => (data[0] === 1 ? 'accept' : data[0] === 2 ? 'ignore' : 'reject'))
      c.subscribe('topic/v')
      await fx.settle?.('topic/v')
      const got = collect(b)
      const gotC = collect(c)
      b.onMessage(() => {
        throw new Error('a bug in a handler')
      })
      for (const v of [3, 2, 1]) await a.publish('topic/v', Uint8Array.from([v]))
      await until(() => got.length === 1 && gotC.length >= 1)
      await new Promise((r) => setTimeout(r, 50))
      expect(got.map((m) => m.data[0])).toEqual([1])
      expect(b.handlerErrors).toBe(1)
      // The throwing handler did not stop point-to-point delivery either.
      await a.send(b.localId, Uint8Array.from([9]))
      await until(() => got.length === 2)
      expect(b.handlerErrors).toBe(2)
    })

    it('stops calling a handler once it is removed', async () => {
      fx = await make(2)
      const [a, b] = fx.endpoints as [Transport, Transport]
      const got: InboundMessage[] = []
      const off = b.onMessage((m) => got.push(m))
      await a.send(b.localId, Uint8Array.from([1]))
      await until(() => got.length === 1)
      off()
      await a.send(b.localId, Uint8Array.from([2]))
      await new Promise((r) => setTimeout(r, 30))
      expect(got).toHaveLength(1)
    })
  })
}
