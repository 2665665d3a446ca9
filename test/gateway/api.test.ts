import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli } from '../cli/runCli.js'
import { type RunningGateway, startGateway, type UpSettings } from '../../src/cli/up.js'
import type { ModelBackend } from '../../src/models/backend.js'
import { InstantBackend } from '../../src/models/instant.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any
const json = (r: Response): Promise<Json> => r.json()
const settings = (over: Partial<UpSettings> = {}): UpSettings => ({ host: '127.0.0.1', port: 0, nodes: 7, models: [], apiKeys: [], answerSeconds: 5, maxRounds: 4, ...over })
const instant = (n: number): ModelBackend[] => Array.from({ length: n }, (_, i) => new InstantBackend(`node-${i}`))

describe('sampling fields reach every member', () => {
  class Recording extends InstantBackend {
    seen: unknown[] = []
    override async answer(messages: Parameters<InstantBackend['answer']>[0], options: Parameters<InstantBackend['answer']>[1] = {}) {
      this.seen.push(options.sampling)
      return super.answer(messages, options)
    }
  }
  let gw: RunningGateway
  let members: Recording[]
  beforeAll(async () => {
    members = Array.from({ length: 3 }, (_, i) => new Recording(`r${i}`))
    gw = await startGateway(settings({ nodes: 3 }), members)
  })
  afterAll(() => gw.close())
  const post = (path: string, body: Json) => fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

  it('passes temperature, top_p, max_tokens, seed and stop to every answering backend, signed in the Query', async () => {
    const res = await post('/chat/completions', { model: 'chorus-swarm', messages: [{ role: 'user', content: 'sample me' }], temperature: 0.7, top_p: 0.9, max_tokens: 64, seed: 7, stop: 'END' }).then(json)
    const want = { temperature: 0.7, topP: 0.9, maxTokens: 64, seed: 7, stop: ['END'] }
    for (const m of members) expect(m.seen.at(-1)).toEqual(want)
    const query = (await fetch(res.chorus.transcript).then(json)).envelopes[0].body
    expect(query.sampling).toEqual({ temperatureMilli: 700, topPMilli: 900, maxTokens: 64, seed: 7, stop: ['END'] })
    // The Responses API's limit is max_output_tokens.
    await post('/responses', { model: 'chorus-swarm', input: 'short please', max_output_tokens: 5 })
    for (const m of members) expect(m.seen.at(-1)).toEqual({ maxTokens: 5 })
    // Without sampling fields, each backend keeps its own settings.
    await post('/chat/completions', { model: 'chorus-swarm', messages: [{ role: 'user', content: 'plain' }] })
    for (const m of members) expect(m.seen.at(-1)).toBeUndefined()
  })

  it('refuses what the backends cannot honour, naming the field', async () => {
    const base = { model: 'chorus-swarm', messages: [{ role: 'user', content: 'x' }] }
    for (const [extra, param] of [
      [{ temperature: 3 }, 'temperature'],
      [{ top_p: 0 }, 'top_p'],
      [{ max_tokens: 0 }, 'max_tokens'],
      [{ max_tokens: 10, max_completion_tokens: 20 }, 'max_completion_tokens'],
      [{ seed: -1 }, 'seed'],
      [{ stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
      [{ presence_penalty: 0.5 }, 'presence_penalty'],
      [{ logit_bias: { '50256': -100 } }, 'logit_bias'],
      [{ response_format: { type: 'json_object' } }, 'response_format'],
    ] as const) {
      const r = await post('/chat/completions', { ...base, ...extra })
      expect(r.status).toBe(400)
      expect((await json(r)).error.param).toBe(param)
    }
  })
})

describe('the gateway API with the official openai client', () => {
  let gw: RunningGateway
  let client: OpenAI
  beforeAll(async () => {
    gw = await startGateway(settings({ apiKeys: ['sk-test'] }), instant(7))
    client = new OpenAI({ baseURL: gw.url, apiKey: 'sk-test', maxRetries: 0 })
  })
  afterAll(() => gw.close())

  it('answers a plain request with the round provenance under chorus', async () => {
    const res = await client.chat.completions.create({ model: 'chorus-swarm', messages: [{ role: 'user', content: 'What is 6 × 7?' }] })
    expect(res.object).toBe('chat.completion')
    expect(res.choices[0]!.message.content).toMatch(/^instant answer \d$/)
    const chorus = (res as unknown as { chorus: Record<string, unknown> }).chorus
    expect(chorus).toMatchObject({ ranked: true, answers: 7, judges: expect.any(Array), transcript_root: expect.stringMatching(/^[0-9a-f]{64}$/) })
    expect((chorus.scores as unknown[]).length).toBe(7)
    expect((chorus.phases_ms as Record<string, number>).total).toBeGreaterThanOrEqual(0)
  })

  it('streams phases as comments, the answer as chunks, provenance on the last chunk, then [DONE]', async () => {
    const stream = await client.chat.completions.create({ model: 'chorus-swarm', stream: true, messages: [{ role: 'user', content: 'Stream it.' }] })
    let text = ''
    let last: Record<string, unknown> | undefined
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk')
      text += chunk.choices[0]?.delta?.content ?? ''
      last = chunk as unknown as Record<string, unknown>
    }
    expect(text).toMatch(/^instant answer \d$/)
    expect((last!.choices as { finish_reason: string }[])[0]!.finish_reason).toBe('stop')
    expect(last!.chorus).toMatchObject({ ranked: true })
    // The raw stream carries the phase comments.
    const raw = await fetch(`${gw.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
      body: JSON.stringify({ model: 'chorus-swarm', stream: true, messages: [{ role: 'user', content: 'raw' }] }),
    }).then((r) => r.text())
    expect(raw).toMatch(/^: round queued\n\n(: phase \w+\n\n)+data: /)
    expect(raw).toContain(': phase verdictCommitting')
    expect(raw.trimEnd().endsWith('data: [DONE]')).toBe(true)
  })

  it('breaks usage down by phase, and sends it as a last chunk when stream_options.include_usage asks', async () => {
    const res = await client.chat.completions.create({ model: 'chorus-swarm', messages: [{ role: 'user', content: 'count my tokens' }] })
    const by = (res as unknown as { chorus: { usage: Record<'answering' | 'judging', { prompt_tokens: number; completion_tokens: number; messages: number }> } }).chorus.usage
    expect(by.answering.messages).toBe(7)
    expect(by.judging.messages).toBeGreaterThan(0)
    expect(by.answering.prompt_tokens + by.judging.prompt_tokens).toBe(res.usage!.prompt_tokens)
    expect(by.answering.completion_tokens + by.judging.completion_tokens).toBe(res.usage!.completion_tokens)
    expect(res.usage!.prompt_tokens).toBeGreaterThan(0)
    const stream = await client.chat.completions.create({ model: 'chorus-swarm', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'count my tokens' }] })
    const chunks = []
    for await (const c of stream) chunks.push(c)
    const last = chunks.at(-1)!
    expect(last.choices).toEqual([])
    expect(last.usage!.total_tokens).toBe(last.usage!.prompt_tokens + last.usage!.completion_tokens)
    expect(last.usage!.prompt_tokens).toBeGreaterThan(0)
    await expect(client.chat.completions.create({ model: 'chorus-swarm', stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 400, param: 'stream_options' })
  })

  it('answers the Responses API, plain and streamed, as the official client reads it', async () => {
    const res = await client.responses.create({ model: 'chorus-swarm', instructions: 'Be brief.', input: 'What is 6 × 7?' })
    expect(res.object).toBe('response')
    expect(res.status).toBe('completed')
    expect(res.output_text).toMatch(/^instant answer \d$/)
    expect(res.usage!.total_tokens).toBe(res.usage!.input_tokens + res.usage!.output_tokens)
    expect((res as unknown as { chorus: { answers: number } }).chorus.answers).toBe(7)
    const items = await client.responses.create({ model: 'chorus-swarm', input: [{ role: 'user', content: [{ type: 'input_text', text: 'Items too.' }] }] })
    expect(items.output_text).toMatch(/^instant answer \d$/)
    const stream = await client.responses.create({ model: 'chorus-swarm', input: 'Stream it.', stream: true })
    const types: string[] = []
    let text = ''
    let completed: { output_text?: string; id: string } | undefined
    let created: string | undefined
    for await (const e of stream) {
      types.push(e.type)
      if (e.type === 'response.created') created = e.response.id
      if (e.type === 'response.output_text.delta') text += e.delta
      if (e.type === 'response.completed') completed = e.response
    }
    expect(types.slice(0, 2)).toEqual(['response.created', 'response.in_progress'])
    expect(types.at(-1)).toBe('response.completed')
    expect(types).toContain('response.output_text.done')
    expect(text).toMatch(/^instant answer \d$/)
    expect(completed!.id).toBe(created)
    // What a swarm cannot do is refused with the parameter named.
    await expect(client.responses.create({ model: 'chorus-swarm', input: 'x', tools: [{ type: 'function', name: 'f', parameters: {}, strict: false }] })).rejects.toMatchObject({ status: 400, param: 'tools' })
    await expect(client.responses.create({ model: 'chorus-swarm', input: 'x', previous_response_id: 'resp_1' })).rejects.toMatchObject({ status: 400, param: 'previous_response_id' })
  })

  it('serves the signed transcript; chorus verify passes on it and fails on a tampered copy', async () => {
    const res = await client.chat.completions.create({ model: 'chorus-swarm', messages: [{ role: 'user', content: 'verify me' }] })
    const round = (res as unknown as { chorus: { round: string; transcript: string } }).chorus
    const url = round.transcript
    expect(url).toBe(`${gw.url}/rounds/${round.round}`)
    const ok = await promisify(execFile)('node', ['dist/src/cli/main.js', 'verify', url], { env: { ...process.env, CHORUS_API_KEY: 'sk-test' } })
    expect(ok.stdout).toContain(`VALID round ${round.round}`)
    const file = await fetch(url, { headers: { authorization: 'Bearer sk-test' } }).then(json)
    file.envelopes.find((e: { type: string }) => e.type === 'Result').body.winner = 'ab'.repeat(32)
    const bad = spawn('node', ['dist/src/cli/main.js', 'verify', '-'])
    bad.stdin.end(JSON.stringify(file))
    let out = ''
    bad.stdout.on('data', (d) => (out += d))
    const code = await new Promise((r) => bad.on('close', r))
    expect(code).toBe(1)
    expect(out).toMatch(/^INVALID/)
  })

  it('reads replies by the answer type a client names (auto otherwise), signed in the Query; a bad one is refused', async () => {
    const ask = (chorus?: Json) =>
      fetch(`${gw.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
        body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content: 'typed' }], ...(chorus ? { chorus } : {}) }),
      })
    const queryOf = async (res: Json) => (await fetch(res.chorus.transcript, { headers: { authorization: 'Bearer sk-test' } }).then(json)).envelopes[0].body
    const typed = await ask({ answer_type: 'literal', answer_marker: 'first' }).then(json)
    expect(typed.chorus.answer_type).toBe('literal')
    expect((await queryOf(typed)).answer).toEqual({ type: 'literal', marker: 'first' })
    const plain = await ask().then(json)
    expect((await queryOf(plain)).answer).toEqual({ type: 'auto', marker: 'last' })
    const bad = await ask({ answer_type: 'essay' })
    expect(bad.status).toBe(400)
    expect((await json(bad)).error.param).toBe('chorus.answer_type')
    // Domain tags ride in the Query, for nodes' relevance policy.
    const tagged = await ask({ domains: ['math', 'algebra', 'math'] }).then(json)
    expect((await queryOf(tagged)).domains).toEqual(['math', 'algebra'])
    for (const domains of [['x'.repeat(65)], 'math', Array.from({ length: 17 }, (_, i) => `d${i}`), ['<script>']]) {
      const refused = await ask({ domains })
      expect(refused.status).toBe(400)
      expect((await json(refused)).error.param).toBe('chorus.domains')
    }
  })

  it('lists models, nodes and recent rounds', async () => {
    const models = await client.models.list()
    expect(models.data.map((m) => m.id)).toEqual(['chorus-swarm'])
    const h = { authorization: 'Bearer sk-test' }
    const nodes = await fetch(`${gw.url}/nodes`, { headers: h }).then(json)
    expect(nodes.data).toHaveLength(7)
    const rounds = await fetch(`${gw.url}/rounds?limit=2`, { headers: h }).then(json)
    expect(rounds.data).toHaveLength(2)
    expect(await fetch(`${gw.url}/rounds/${'0'.repeat(64)}`, { headers: h }).then((r) => r.status)).toBe(404)
  })

  it('completes 50 concurrent requests, each with its own round', async () => {
    const all = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.chat.completions.create({ model: 'chorus-swarm', messages: [{ role: 'user', content: `q${i}` }] })),
    )
    const rounds = new Set(all.map((r) => (r as unknown as { chorus: { round: string } }).chorus.round))
    expect(rounds.size).toBe(50)
  })
})

describe('bad input gets the right status and OpenAI error shape, and the process stays up', () => {
  let gw: RunningGateway
  let base: string
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k1', ...headers }, body })
  const good = JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content: 'hi' }] })
  beforeAll(async () => {
    gw = await startGateway(settings({ nodes: 3, apiKeys: ['k1', 'k2'], rateLimit: { ratePerS: 1, burst: 30 } }), instant(3))
    base = gw.url
  })
  afterAll(() => gw.close())

  it.each([
    ['malformed JSON', '{"model":', 400, 'invalid_request_error'],
    ['wrong types', JSON.stringify({ model: 'chorus-swarm', messages: 'hi' }), 400, 'invalid_request_error'],
    ['a message without content', JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user' }] }), 400, 'invalid_request_error'],
    ['an unknown model', JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }), 404, 'not_found_error'],
    ['an unsupported parameter', JSON.stringify({ model: 'chorus-swarm', tools: [], messages: [{ role: 'user', content: 'hi' }] }), 400, 'invalid_request_error'],
  ])('%s → %s', async (_, body, status, type) => {
    const res = await post(body)
    expect(res.status).toBe(status)
    const e = await json(res)
    expect(e.error).toMatchObject({ type, message: expect.any(String) })
    expect(e.error).toHaveProperty('param')
    expect(e.error).toHaveProperty('code')
  })

  it('a 10 MB body → 413', async () => {
    const res = await post(JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content: 'x'.repeat(10 * 1024 * 1024) }] }))
    expect(res.status).toBe(413)
    expect((await json(res)).error.code).toBe('request_too_large')
  })

  it('a missing or wrong key → 401', async () => {
    const missing = await fetch(`${base}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: good })
    expect(missing.status).toBe(401)
    expect((await json(missing)).error.code).toBe('missing_api_key')
    const wrong = await post(good, { authorization: 'Bearer nope' })
    expect(wrong.status).toBe(401)
    expect((await json(wrong)).error.type).toBe('authentication_error')
  })

  it('too many requests for one key → 429 with Retry-After; another key is unaffected', async () => {
    let limited: Response | undefined
    for (let i = 0; i < 40 && limited === undefined; i++) {
      const r = await fetch(`${base}/models`, { headers: { authorization: 'Bearer k1' } })
      if (r.status === 429) limited = r
    }
    expect(limited?.status).toBe(429)
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect((await json(limited!)).error.code).toBe('rate_limit_exceeded')
    expect((await fetch(`${base}/models`, { headers: { authorization: 'Bearer k2' } })).status).toBe(200)
  })

  it('is still up, counts every error in /metrics, and reports health and readiness', async () => {
    const ok = await post(good, { authorization: 'Bearer k2' })
    expect(ok.status).toBe(200)
    const metrics = await fetch(`${base.replace(/\/v1$/, '')}/metrics`).then((r) => r.text())
    for (const code of ['invalid_request', 'model_not_found', 'request_too_large', 'missing_api_key', 'invalid_api_key', 'rate_limit_exceeded']) {
      expect(metrics).toMatch(new RegExp(`chorus_api_errors_total\\{code="${code}"\\} [1-9]`))
    }
    expect(metrics).toMatch(/chorus_round_phase_seconds_count\{phase="judge"\} [1-9]/)
    expect(metrics).toMatch(/chorus_active_rounds 0/)
    const root = base.replace(/\/v1$/, '')
    expect((await fetch(`${root}/healthz`)).status).toBe(200)
    expect((await fetch(`${root}/readyz`)).status).toBe(200)
  })
})

describe('when the swarm cannot answer', () => {
  it('503 when no node can serve, 504 when the round misses its deadline', async () => {
    const none = await startGateway(settings({ nodes: 0 }), [])
    try {
      const r = await fetch(`${none.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content: 'anyone?' }] }),
      })
      expect(r.status).toBe(503)
      expect((await json(r)).error.code).toBe('no_nodes')
      expect((await fetch(none.url.replace(/\/v1$/, '/readyz'))).status).toBe(503)
    } finally {
      await none.close()
    }
    const stall: ModelBackend = { name: 'stall', answer: () => new Promise(() => {}), judge: async () => ({ verdict: 'U' }) }
    const slow = await startGateway(settings({ nodes: 3 }), [stall, stall, stall])
    try {
      const r = await fetch(`${slow.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chorus-swarm', chorus: { timeout_ms: 300 }, messages: [{ role: 'user', content: 'slow' }] }),
      })
      expect(r.status).toBe(504)
      expect((await json(r)).error.code).toBe('deadline_exceeded')
    } finally {
      await slow.close()
    }
  })
})

describe('chorus up, the command', () => {
  it('starts on tiny models, prints its URL, and serves the openai client', async () => {
    const proc = spawn('node', ['dist/src/cli/main.js', 'up', '--port', '0', '--nodes', '3'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    proc.stderr.on('data', (d) => (err += d))
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = ''
        proc.stdout.on('data', (d) => {
          out += d
          const m = /on (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(out)
          if (m) resolve(m[1]!)
        })
        proc.on('exit', (c) => reject(new Error(`exited ${c}: ${out}`)))
      })
      const client = new OpenAI({ baseURL: url, apiKey: 'unused', maxRetries: 0 })
      const res = await client.chat.completions.create({ model: 'chorus-swarm', messages: [{ role: 'user', content: 'hello' }] })
      expect(typeof res.choices[0]!.message.content).toBe('string')
      expect((res as unknown as { chorus: { ranked: boolean } }).chorus.ranked).toBe(true)
      const asked = await cli('ask', '--url', url, 'hello again')
      expect(asked.code).toBe(0)
      expect(asked.out).toMatch(/round [0-9a-f]{16}…: ranked, 3 answers/)
      // While its models load, up says so; then its log has a line per request.
      expect(err).toMatch(/loading model 1\/3: tiny-random-0\n[\s\S]*loading model 3\/3/)
      expect(err).toMatch(/"msg":"request"/)
    } finally {
      proc.kill('SIGINT')
      await new Promise((r) => proc.on('close', r))
    }
  }, 60_000)

  it('refuses a port in use and a bad config clearly', async () => {
    const a = await startGateway(settings({ nodes: 3 }), instant(3))
    try {
      const port = new URL(a.url).port
      const r = await cli('up', '--port', port, '--nodes', '3')
      expect(r.code).toBe(2)
      expect(r.out).toMatch(/port \d+ on 127\.0\.0\.1 is in use/)
    } finally {
      await a.close()
    }
    expect((await cli('up', '--nodes', 'many')).out).toMatch(/--nodes is not a number: many/)
    expect((await cli('up', '--nodes', '2')).out).toMatch(/--nodes is out of range: 2 \(expected a whole number from 3 to 256 \(a round needs 3 nodes\)\)/)
    expect((await cli('ask')).out).toMatch(/ask needs a question/)
    expect((await cli('up', '--port', 'abc')).out).toMatch(/--port is not a number: abc/)
    expect((await cli('verify', '--help')).out).toMatch(/^chorus verify <file \| url \| -> \[options\]/)
  })
})
