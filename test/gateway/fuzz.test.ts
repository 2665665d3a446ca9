import { request as httpRequest } from 'node:http'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEmbeddedSwarm, type EmbeddedSwarm } from '../../src/cli/embeddedSwarm.js'
import { phaseDurations } from '../../src/cli/settings.js'
import { createGateway, type Gateway } from '../../src/gateway/httpApi.js'
import { SeededRandom } from '../../src/consensus/prng.js'
import { hashParts } from '../../src/crypto/hash.js'
import { InstantBackend } from '../../src/models/instant.js'

/**
 * A seeded fuzz of the HTTP API over real sockets: thousands of requests of many kinds (valid and
 * broken bodies, mutated fields, odd paths and encodings, wrong methods and content types, keys
 * right and wrong), eight at a time. Whatever a client sends, the gateway answers: never 500,
 * never a 5xx for the client's own mistake, always the OpenAI error shape, and its memory stays
 * bounded. Fixed seed, fixed count: the same requests every run.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any
const SEED = hashParts('http-fuzz', '1')
const REQUESTS = 3000

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const heldMb = () => {
  for (let i = 0; i < 3; i++) gc()
  const m = process.memoryUsage()
  return (m.heapUsed + m.external) / 2 ** 20
}

let swarm: EmbeddedSwarm
let gateway: Gateway
let port = 0
beforeAll(async () => {
  swarm = createEmbeddedSwarm({ nodes: 3, backendFor: (id) => new InstantBackend(id.id), durations: phaseDurations(5) })
  // One address sends everything here, wrong keys included: the failed-key limit (tested on its
  // own) would soon answer 429 to all of it and hide the rest.
  gateway = createGateway({ swarm: swarm.port(), apiKeys: ['sk-fuzz'], authFailures: { ratePerS: 1e6, burst: 1e6 } })
  port = Number(new URL(await gateway.app.listen({ host: '127.0.0.1', port: 0 })).port)
})
afterAll(async () => {
  await gateway?.app.close()
  await swarm?.stop()
})

interface Req {
  method: string
  path: string
  headers: Record<string, string>
  body?: string
  /** True when the request is a well-formed completion a client may expect to succeed. */
  valid: boolean
}

const VALID = { model: 'chorus-swarm', messages: [{ role: 'user', content: 'What is 6 × 7?' }] }
const ODD_VALUES: unknown[] = [null, true, 0, -1, 1e308, 1.5, '', 'x'.repeat(5000), [], {}, [null], { role: 'user' }, '\u0000\ud800', '__proto__', { __proto__: { admin: true } }, Number.MAX_SAFE_INTEGER + 2]
const PATHS = ['/v1/chat/completions', '/v1/models', '/v1/models/chorus-swarm', '/v1/models/%00', '/v1/nodes', '/v1/rounds', '/v1/rounds?limit=-5', '/v1/rounds?limit=abc', '/v1/rounds/' + 'ab'.repeat(32), '/v1/rounds/..%2F..%2Fetc', '/%761/chat/completions', '/v1//chat/completions', '/v1/chat/completions/', '/healthz', '/readyz', '/metrics', '/', '/v2/chat/completions', `/v1/${'a'.repeat(3000)}`]
const FIELDS = ['model', 'messages', 'stream', 'n', 'temperature', 'chorus', 'tools', 'max_tokens', 'stop', 'constructor']

function generate(rng: SeededRandom): Req {
  const pick = <T>(xs: readonly T[]): T => xs[rng.nextInt(xs.length)]!
  const auth = pick(['Bearer sk-fuzz', 'Bearer sk-fuzz', 'Bearer sk-fuzz', 'Bearer wrong', 'Basic c2stZnV6eg==', 'Bearer ', ''])
  const headers: Record<string, string> = auth === '' ? {} : { authorization: auth }
  const kind = rng.nextInt(10)
  if (kind <= 1) {
    // A valid completion, sometimes streamed.
    const body = { ...VALID, messages: [{ role: 'user', content: `q ${rng.nextInt(1e6)}` }], ...(rng.nextInt(3) === 0 ? { stream: true } : {}) }
    return { method: 'POST', path: '/v1/chat/completions', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body), valid: auth === 'Bearer sk-fuzz' }
  }
  if (kind <= 4) {
    // A completion with one field mutated, removed or added.
    const body: Record<string, unknown> = structuredClone(VALID)
    const field = pick(FIELDS)
    const what = rng.nextInt(3)
    if (what === 0) delete body[field]
    else body[field] = pick(ODD_VALUES)
    if (rng.nextInt(4) === 0) (body.messages as unknown[]) = [pick(ODD_VALUES), { role: pick(['user', 'system', 'tool', 'root']), content: pick(ODD_VALUES) }]
    return { method: 'POST', path: '/v1/chat/completions', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body), valid: false }
  }
  if (kind <= 6) {
    // Broken bytes: truncated, garbage, wrong content type, deep nesting.
    const text = JSON.stringify(VALID)
    const body = pick([text.slice(0, rng.nextInt(text.length)), '{'.repeat(5000), '[]', 'null', '"x"', '\u00ff\u00fe', text.replace(':', ';'), `${'['.repeat(2000)}${']'.repeat(2000)}`])
    return { method: 'POST', path: '/v1/chat/completions', headers: { ...headers, 'content-type': pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1']) }, body, valid: false }
  }
  // Any route, any method.
  return { method: pick(['GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']), path: pick(PATHS), headers, valid: false }
}

function send(r: Req): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: r.method, path: r.path, headers: { ...r.headers, ...(r.body !== undefined ? { 'content-length': String(Buffer.byteLength(r.body)) } : {}) } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type'] ?? '') }))
    })
    req.on('error', reject)
    req.setTimeout(20_000, () => req.destroy(new Error(`no answer to ${r.method} ${r.path}`)))
    req.end(r.body)
  })
}

describe('HTTP fuzz', () => {
  it(`${REQUESTS} seeded requests: no crash, no 500, no 5xx for a client error, every error in OpenAI's shape, memory bounded`, async () => {
    const rng = new SeededRandom(SEED)
    const reqs = Array.from({ length: REQUESTS }, () => generate(rng))
    const before = heldMb()
    const statuses = new Map<number, number>()
    const problems: string[] = []
    let next = 0
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < reqs.length) {
          const r = reqs[next++]!
          const res = await send(r)
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
          const label = `${r.method} ${r.path.slice(0, 60)} ${r.body?.slice(0, 60) ?? ''} → ${res.status}`
          if (res.status >= 500 && !(r.valid && (res.status === 503 || res.status === 504))) problems.push(`${label} ${res.body.slice(0, 300)}`)
          if (r.valid && res.status !== 200) problems.push(`valid request refused: ${label} ${res.body.slice(0, 120)}`)
          if (res.status >= 400 && r.method !== 'HEAD') {
            let shape: Json
            try {
              shape = JSON.parse(res.body)
            } catch {
              shape = undefined
            }
            if (typeof shape?.error?.message !== 'string' || !('type' in shape.error) || !('code' in shape.error)) problems.push(`not an OpenAI error: ${label} ${res.body.slice(0, 80)}`)
          }
        }
      }),
    )
    expect(problems.slice(0, 10)).toEqual([])
    // The run exercised every class of answer.
    for (const s of [200, 400, 401, 404]) expect(statuses.get(s) ?? 0).toBeGreaterThan(0)
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true)
    // Still serving, and what it holds is bounded (the round store keeps at most 1 000 rounds).
    const ok = await send({ method: 'POST', path: '/v1/chat/completions', headers: { authorization: 'Bearer sk-fuzz', 'content-type': 'application/json' }, body: JSON.stringify(VALID), valid: true })
    expect(ok.status).toBe(200)
    expect(heldMb() - before).toBeLessThan(40)
  }, 240_000)
})
