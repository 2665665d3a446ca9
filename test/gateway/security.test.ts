import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { type RunningGateway, startGateway, type UpSettings } from '../../src/cli/up.js'
import { createGateway } from '../../src/gateway/httpApi.js'
import type { Swarm } from '../../src/gateway/swarm.js'
import type { ModelBackend } from '../../src/models/backend.js'
import { InstantBackend } from '../../src/models/instant.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any
const settings = (over: Partial<UpSettings> = {}): UpSettings => ({ host: '127.0.0.1', port: 0, nodes: 3, models: [], apiKeys: [], answerSeconds: 5, maxRounds: 4, ...over })
const instant = (n: number): ModelBackend[] => Array.from({ length: n }, (_, i) => new InstantBackend(`node-${i}`))
const chat = (content = 'hi', extra: object = {}) => JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content }], ...extra })

let gw: RunningGateway | undefined
afterEach(async () => {
  await gw?.close()
  gw = undefined
})

/** Sends a request line as written (fetch would normalise the path). */
function raw(url: string, method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<{ status: number; text: string }> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname)
    let text = ''
    s.on('data', (d) => (text += d))
    s.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }))
    s.on('error', reject)
    const head = Object.entries({ host: u.host, connection: 'close', 'content-length': String(Buffer.byteLength(body)), ...headers }).map(([k, v]) => `${k}: ${v}`)
    // Written, not ended: a client that half-closes has gone away as far as the server knows.
    s.write(`${method} ${path} HTTP/1.1\r\n${head.join('\r\n')}\r\n\r\n${body}`)
  })
}

describe('the API key is checked on the route that runs', () => {
  it('percent-encoded, doubled and unknown paths need the key like /v1 itself; health, readiness and metrics do not', async () => {
    gw = await startGateway(settings({ apiKeys: ['sk-right'] }), instant(3))
    const base = gw.url.replace(/\/v1$/, '')
    const json = { 'content-type': 'application/json' }
    for (const [method, path] of [
      ['POST', '/%761/chat/completions'],
      ['POST', '/v%31/chat/completions'],
      ['GET', '/v%31/rounds'],
      ['GET', '/%76%31/nodes'],
      ['GET', '/v1/rounds'],
      ['GET', '/V1/rounds'],
      ['GET', '//v1/rounds'],
      ['GET', '/v1/nope'],
      ['GET', '/anything'],
    ] as const) {
      const r = await raw(base, method, path, json, method === 'POST' ? chat() : '')
      expect([path, r.status]).toEqual([path, 401])
    }
    // With the key, the encoded route is the real one.
    const ok = await raw(base, 'POST', '/%761/chat/completions', { ...json, authorization: 'Bearer sk-right' }, chat())
    expect(ok.status).toBe(200)
    for (const path of ['/healthz', '/readyz', '/metrics']) expect((await raw(base, 'GET', path)).status).toBe(200)
  })

  it('limits failed keys per client address: guessing gets 429 with Retry-After, then works again', async () => {
    gw = await startGateway(settings({ apiKeys: ['sk-right'] }), instant(3))
    const get = (key: string) => fetch(`${gw!.url}/models`, { headers: { authorization: `Bearer ${key}` } })
    for (let i = 0; i < 10; i++) expect((await get(`guess-${i}`)).status).toBe(401)
    const blocked = await get('guess-10')
    expect(blocked.status).toBe(429)
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(((await blocked.json()) as Json).error.code).toBe('rate_limit_exceeded')
    // Even a right key waits its turn from this address (the guesser could be holding one).
    expect((await get('sk-right')).status).toBe(429)
    await new Promise((r) => setTimeout(r, 1100))
    expect((await get('sk-right')).status).toBe(200)
  })
})

describe('requests are bounded in time and size', () => {
  const idle: Swarm = { minMembers: 3, ask: () => new Promise(() => {}), nodes: () => [], rejections: () => new Map() }

  it('closes a connection whose body drips in slower than the receive limit (408), and keeps serving', async () => {
    const g = createGateway({ swarm: idle, requestReceiveMs: 500 })
    const url = await g.app.listen({ host: '127.0.0.1', port: 0 })
    try {
      const u = new URL(url)
      const t0 = performance.now()
      const result = await new Promise<string>((resolve) => {
        const s = connect(Number(u.port), u.hostname)
        let text = ''
        s.on('data', (d) => (text += d))
        s.on('close', () => resolve(text))
        s.on('error', () => {})
        s.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{`)
        const drip = setInterval(() => (s.writable ? s.write(' ') : clearInterval(drip)), 100)
        s.on('close', () => clearInterval(drip))
      })
      const ms = performance.now() - t0
      expect(result).toMatch(/^HTTP\/1\.1 408/)
      expect(ms).toBeLessThan(2_500)
      expect((await fetch(`${url}/healthz`)).status).toBe(200)
    } finally {
      await g.app.close()
    }
  })

  it('a query too large for one signed envelope is a 400 naming messages, at once (not a 503 after the join window)', async () => {
    gw = await startGateway(settings(), instant(3))
    const big = JSON.stringify({ model: 'chorus-swarm', messages: Array.from({ length: 10 }, () => ({ role: 'user', content: 'x'.repeat(30_000) })) })
    const t0 = performance.now()
    const res = await fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big })
    const body = (await res.json()) as Json
    expect(res.status).toBe(400)
    expect(body.error).toMatchObject({ param: 'messages', code: 'request_too_large' })
    expect(performance.now() - t0).toBeLessThan(500)
  })

  it('chorus.timeout_ms gives 504 every time, and eight requests that gave up do not wedge the swarm', async () => {
    const slow = (i: number): ModelBackend => {
      const inner = new InstantBackend(`slow-${i}`)
      return { name: 'slow', answer: async (m) => (await new Promise((r) => setTimeout(r, 150)), inner.answer(m)), judge: (r) => inner.judge(r) }
    }
    gw = await startGateway(settings({ nodes: 3 }), [0, 1, 2].map(slow))
    const statuses = await Promise.all(
      Array.from({ length: 8 }, () =>
        fetch(`${gw!.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chat('quick', { chorus: { timeout_ms: 1 } }) }).then(async (r) => [r.status, ((await r.json()) as Json).error?.code]),
      ),
    )
    expect(statuses).toEqual(Array.from({ length: 8 }, () => [504, 'deadline_exceeded']))
    const ok = await fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chat('after') })
    expect(ok.status).toBe(200)
    // Members leave on the RoundEnded notice, which follows the answer by a moment: give it one.
    let held: number[] = []
    for (let i = 0; i < 50; i++) {
      const nodes = (await fetch(`${gw.url}/nodes`).then((r) => r.json())) as Json
      held = nodes.data.map((n: Json) => n.activeRounds)
      if (held.every((h) => h === 0)) break
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(held).toEqual([0, 0, 0])
  })

  it('counts a streamed request once in the request histogram, whose buckets reach past the longest round', async () => {
    gw = await startGateway(settings(), instant(3))
    await fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chat('stream', { stream: true }) }).then((r) => r.text())
    const metrics = await fetch(gw.url.replace(/\/v1$/, '/metrics')).then((r) => r.text())
    expect(metrics).toMatch(/chorus_http_request_duration_seconds_count\{route="\/v1\/chat\/completions",status="200"\} 1\n/)
    expect(metrics).toMatch(/chorus_http_request_duration_seconds_bucket\{le="1200"/)
  })
})
