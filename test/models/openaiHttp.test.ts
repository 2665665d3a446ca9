import { afterEach, describe, expect, it } from 'vitest'
import { HttpBackendError, OpenAIHttpBackend } from '../../src/models/openaiHttp.js'
import { parseSse } from '../../src/models/sse.js'
import { type Scripted, completion, scriptedServer, sendJson, sendSse } from './scriptedServer.js'

let server: Scripted | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})
const backend = (extra: Partial<ConstructorParameters<typeof OpenAIHttpBackend>[0]> = {}) =>
  new OpenAIHttpBackend({ baseUrl: server!.url, model: 'm', backoffMs: 5, ...extra })
const ask = [{ role: 'user' as const, content: 'What is 6 × 7?' }]
const pair = { question: 'q', first: '42', second: '41' }

describe('SSE parser', () => {
  it('handles comments, multi-line data, CRLF and CR, and chunks split anywhere', async () => {
    const text = ': hi\r\ndata: a\r\ndata: b\r\n\r\nevent: x\rdata: c\r\r: tail\n\ndata: unterminated'
    for (const size of [1, 2, 3, 7, 100]) {
      const bytes = Buffer.from(text)
      const chunks = async function* () {
        for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
      }
      const events = []
      for await (const e of parseSse(chunks())) events.push(e)
      expect(events).toEqual([
        { event: 'message', data: 'a\nb' },
        { event: 'x', data: 'c' },
      ])
    }
  })
})

describe('OpenAI-compatible HTTP backend', () => {
  it("samples an answer as the round's Query asks, over its own settings", async () => {
    server = await scriptedServer((_, res) => sendJson(res, 200, completion('42')))
    await backend({ stream: false, temperature: 0, maxTokens: 256 }).answer(ask, { sampling: { temperature: 0.7, topP: 0.9, maxTokens: 12, seed: 5, stop: ['\n\n'] } })
    expect(server.requests[0]).toMatchObject({ temperature: 0.7, top_p: 0.9, max_tokens: 12, seed: 5, stop: ['\n\n'] })
    await backend({ stream: false, temperature: 0, maxTokens: 256 }).answer(ask)
    expect(server.requests[1]).toMatchObject({ temperature: 0, max_tokens: 256 })
    expect(server.requests[1]).not.toHaveProperty('seed')
  })

  it('answers without streaming, stripping <think> blocks', async () => {
    server = await scriptedServer((_, res) => sendJson(res, 200, completion('<think>hmm</think> 42')))
    expect(await backend({ stream: false }).answer(ask)).toBe('42')
    expect(server.requests[0]).toMatchObject({ model: 'm', stream: false, messages: ask })
  })

  it('answers over SSE with comment and keep-alive lines, LF or CRLF', async () => {
    for (const crlf of [false, true]) {
      server = await scriptedServer((_, res) => sendSse(res, ['The answer', ' is ', '42.'], { crlf }))
      expect(await backend().answer(ask)).toBe('The answer is 42.')
      await server.close()
    }
    server = undefined
  })

  it('fails clearly on a mid-stream error and on a stream cut before [DONE]', async () => {
    server = await scriptedServer((_, res) => sendSse(res, ['a', 'b', 'c'], { errorAfter: 1 }))
    await expect(backend({ retries: 0 }).answer(ask)).rejects.toMatchObject({ code: 'STREAM_ERROR', message: /model crashed/ })
    await server.close()
    server = await scriptedServer((_, res) => sendSse(res, ['a'], { noDone: true }))
    await expect(backend({ retries: 0 }).answer(ask)).rejects.toMatchObject({ code: 'STREAM_ERROR' })
  })

  it('judges from top_logprobs when the server has them, and remembers that it does', async () => {
    server = await scriptedServer((body, res) =>
      sendJson(
        res,
        200,
        completion('A', body.logprobs ? [{ token: 'A', logprob: Math.log(0.6) }, { token: ' B', logprob: Math.log(0.2) }, { token: 'T', logprob: Math.log(0.1) }] : undefined),
      ),
    )
    const b = backend()
    const r = await b.judge(pair)
    expect(r.verdict).toBe('A')
    expect(r.pFirst).toBeCloseTo(0.75, 10)
    expect(b.logprobsSupported).toBe(true)
    expect(server.requests[0]).toMatchObject({ logprobs: true, max_tokens: 1 })
  })

  it('falls back to a short parsed reply when the server has no logprobs, probing only once', async () => {
    server = await scriptedServer((_, res) => sendJson(res, 200, completion(' B')))
    const b = backend()
    expect((await b.judge(pair)).verdict).toBe('B')
    expect(b.logprobsSupported).toBe(false)
    expect((await b.judge(pair)).verdict).toBe('B')
    expect(server.requests[1]).toMatchObject({ max_tokens: 3 })
    expect(server.requests[1]!.logprobs).toBeUndefined()
  })

  it('treats an unparseable verdict as an abstention, not a guess', async () => {
    server = await scriptedServer((_, res) => sendJson(res, 200, completion('Both answers have merit.')))
    expect((await backend().judge(pair)).verdict).toBe('U')
  })

  it('retries 5xx and 429 with backoff, not 4xx', async () => {
    server = await scriptedServer((_, res, n) => (n < 3 ? sendJson(res, n === 1 ? 503 : 429, { error: { message: 'busy' } }) : sendJson(res, 200, completion('ok'))))
    expect(await backend({ stream: false }).answer(ask)).toBe('ok')
    expect(server.requests).toHaveLength(3)
    await server.close()
    server = await scriptedServer((_, res) => sendJson(res, 400, { error: { message: 'bad model' } }))
    await expect(backend({ stream: false }).answer(ask)).rejects.toMatchObject({ code: 'HTTP_STATUS', status: 400 })
    expect(server.requests).toHaveLength(1)
  })

  it('times out a server that never answers, after its retries', async () => {
    server = await scriptedServer(() => {})
    const t0 = Date.now()
    await expect(backend({ timeoutMs: 100, retries: 1 }).answer(ask)).rejects.toMatchObject({ code: 'TIMEOUT' })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200)
    expect(server.requests).toHaveLength(2)
  })

  it('stops at once when the caller aborts', async () => {
    server = await scriptedServer(() => {})
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 50)
    const t0 = Date.now()
    await expect(backend({ timeoutMs: 10_000 }).answer(ask, { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' })
    expect(Date.now() - t0).toBeLessThan(1000)
  })

  it('checks that the server is up and serves the model', async () => {
    server = await scriptedServer(() => {}, ['m', 'other'])
    await expect(backend().check()).resolves.toBeUndefined()
    await expect(backend({ model: 'missing' }).check()).rejects.toThrow(/does not serve 'missing'/)
    await server.close()
    server = await scriptedServer(() => {})
    await expect(backend().check()).resolves.toBeUndefined()
    await expect(new OpenAIHttpBackend({ baseUrl: 'http://127.0.0.1:9/v1', model: 'm' }).check()).rejects.toThrow(/is the server running/)
  })

  it('says so when nothing listens there', async () => {
    const b = new OpenAIHttpBackend({ baseUrl: 'http://127.0.0.1:9/v1', model: 'm', retries: 0 })
    await expect(b.answer(ask)).rejects.toBeInstanceOf(HttpBackendError)
    await expect(b.answer(ask)).rejects.toMatchObject({ code: 'NETWORK', message: /cannot reach/ })
  })
})
