import { describe, expect, it } from 'vitest'
import { hashParts } from '../../src/crypto/hash.js'
import { MemoryNetwork } from '../../src/transport/memory.js'
import { transportCompliance } from './compliance.js'

const id = (i: number) => hashParts('ep', String(i))

transportCompliance(
  'memory',
  async (n) => {
    const net = new MemoryNetwork({ maxMessageBytes: 4096 })
    const endpoints = Array.from({ length: n }, (_, i) => net.endpoint(id(i)))
    return { endpoints, close: async () => void (await Promise.all(endpoints.map((e) => e.close()))) }
  },
  { maxBytes: 4096 },
)

transportCompliance(
  'memory with latency',
  async (n) => {
    const net = new MemoryNetwork({ latencyMs: 2, maxMessageBytes: 4096 })
    const endpoints = Array.from({ length: n }, (_, i) => net.endpoint(id(i)))
    return { endpoints, close: async () => void (await Promise.all(endpoints.map((e) => e.close()))) }
  },
  { maxBytes: 4096 },
)

describe('memory network faults', () => {
  it('loses messages at the configured rate, drawn from the injected source', async () => {
    let k = 0
    const net = new MemoryNetwork({ lossRate: 0.5, random: () => (k++ % 2 === 0 ? 0.1 : 0.9) })
    const [a, b] = [net.endpoint(id(0)), net.endpoint(id(1))]
    let got = 0
    b.onMessage(() => got++)
    for (let i = 0; i < 10; i++) await a.send(b.localId, Uint8Array.from([i]))
    await new Promise((r) => setTimeout(r, 20))
    expect(got).toBe(5)
  })

  it('delays by the latency function', async () => {
    const net = new MemoryNetwork({ latencyMs: () => 40 })
    const [a, b] = [net.endpoint(id(0)), net.endpoint(id(1))]
    let at = 0
    b.onMessage(() => (at = Date.now()))
    const t0 = Date.now()
    await a.send(b.localId, Uint8Array.from([1]))
    await new Promise((r) => setTimeout(r, 80))
    expect(at - t0).toBeGreaterThanOrEqual(35)
  })
})
