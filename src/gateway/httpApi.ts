import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { transcriptFile } from '../round/transcript.js'
import { Admission } from './admission.js'
import { ApiError } from './apiError.js'
import { type ChatRequest, SWARM_MODEL, parseChatRequest } from './chatRequest.js'
import { RoundFailedError, type RoundResult } from './coordinatorService.js'
import { type GatewayMetrics, createPrometheusMetrics } from './metrics.js'
import { provenance } from './provenance.js'
import { type RateLimit, RateLimiter } from './rateLimiter.js'
import { RoundStore } from './roundStore.js'
import type { Swarm } from './swarm.js'

/**
 * The OpenAI-compatible HTTP API over a Swarm. One round per completion request; the answer comes
 * back in OpenAI's shape with the round's provenance under `chorus`, and the signed transcript stays
 * available at /v1/rounds/:id for anyone to verify.
 */
export interface GatewayOptions {
  swarm: Swarm
  /** Bearer keys accepted; none configured means an open gateway. */
  apiKeys?: readonly string[]
  /** Per key (per client address on an open gateway). */
  rateLimit?: RateLimit
  maxActiveRounds?: number
  maxQueuedRounds?: number
  bodyLimitBytes?: number
  /** How long a request may wait for its round unless it asks for less. */
  requestTimeoutMs?: number
}

export interface Gateway {
  app: FastifyInstance
  store: RoundStore
  admission: Admission
}

const STREAM_PIECE = 96

export function createGateway(opts: GatewayOptions): Gateway {
  // Idle keep-alive connections must not hold shutdown open.
  const app = Fastify({ bodyLimit: opts.bodyLimitBytes ?? 1024 * 1024, logger: false, forceCloseConnections: true })
  const store = new RoundStore()
  const admission = new Admission(opts.maxActiveRounds ?? 8, opts.maxQueuedRounds ?? 256)
  const { metrics, registry } = createPrometheusMetrics({
    rejections: () => opts.swarm.rejections(),
    activeRounds: () => admission.running,
    queuedRounds: () => admission.waiting,
  })
  const limiter = opts.rateLimit ? new RateLimiter(opts.rateLimit) : undefined
  const keys = new Set(opts.apiKeys ?? [])

  const fail = (reply: FastifyReply, err: ApiError) => {
    metrics.apiError(err.code ?? err.type)
    if (err.retryAfterS !== undefined) reply.header('retry-after', String(err.retryAfterS))
    return reply.code(err.status).send(err.toJSON())
  }

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof ApiError) return fail(reply, err)
    if (err.statusCode === 413) return fail(reply, new ApiError(413, 'invalid_request_error', 'the request body is too large', 'request_too_large'))
    if (err.statusCode === 415) return fail(reply, new ApiError(400, 'invalid_request_error', 'send the body as application/json', 'invalid_content_type'))
    if (err.statusCode !== undefined && err.statusCode < 500) {
      return fail(reply, new ApiError(400, 'invalid_request_error', err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError ? 'the body is not valid JSON' : err.message, 'invalid_request'))
    }
    return fail(reply, new ApiError(500, 'server_error', 'internal error', 'internal_error'))
  })
  app.setNotFoundHandler((req, reply) => fail(reply, new ApiError(404, 'not_found_error', `no route ${req.method} ${req.url.split('?')[0]}`, 'not_found')))
  app.addHook('onResponse', async (req, reply) => {
    metrics.request(req.routeOptions.url ?? 'unknown', reply.statusCode, reply.elapsedTime / 1000)
  })
  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/v1/')) return
    let who = req.ip
    if (keys.size > 0) {
      const auth = req.headers.authorization
      const key = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined
      if (key === undefined) throw new ApiError(401, 'authentication_error', 'no API key: send Authorization: Bearer <key>', 'missing_api_key')
      if (!keys.has(key)) throw new ApiError(401, 'authentication_error', 'the API key is not valid', 'invalid_api_key')
      who = `key:${key}`
    }
    const taken = limiter?.take(who)
    if (taken && !taken.ok) throw new ApiError(429, 'rate_limit_error', 'too many requests for this key; slow down', 'rate_limit_exceeded', null, taken.retryAfterS)
  })

  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_req, reply) => {
    const nodes = opts.swarm.nodes().length
    const ready = nodes >= opts.swarm.minMembers
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', nodes, needed: opts.swarm.minMembers })
  })
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()))
  app.get('/v1/models', async () => ({ object: 'list', data: [modelObject()] }))
  app.get<{ Params: { id: string } }>('/v1/models/:id', async (req) => {
    if (req.params.id !== SWARM_MODEL) throw new ApiError(404, 'not_found_error', `the model '${req.params.id}' does not exist`, 'model_not_found')
    return modelObject()
  })
  app.get('/v1/nodes', async () => ({ object: 'list', data: opts.swarm.nodes() }))
  app.get<{ Querystring: { limit?: string } }>('/v1/rounds', async (req) => {
    const limit = Math.min(Math.max(Number(req.query.limit ?? 20) || 20, 1), 1000)
    return {
      object: 'list',
      data: store.recent(limit).map((s) => ({
        round: s.result.roundId,
        question: s.question.slice(0, 200),
        finished_at: Math.floor(s.finishedAt / 1000),
        ranked: s.result.outcome.ranked,
        winner: s.result.outcome.winner,
        transcript_root: s.result.result.env.body.root,
        round_ms: Math.round(s.roundMs),
      })),
    }
  })
  app.get<{ Params: { id: string } }>('/v1/rounds/:id', async (req) => {
    const s = store.get(req.params.id)
    if (s === undefined) throw new ApiError(404, 'not_found_error', `no round ${req.params.id} on this gateway (it keeps the last 1000)`, 'round_not_found')
    return transcriptFile(s.result.transcript)
  })

  app.post('/v1/chat/completions', async (req, reply) => {
    const chat = parseChatRequest(req.body)
    const abort = new AbortController()
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) abort.abort()
    })
    if (chat.stream) return stream(chat, req, reply, abort)
    const { result, roundMs } = await runRound(chat, abort.signal, metrics)
    return completion(result, roundMs)
  })

  async function runRound(chat: ChatRequest, signal: AbortSignal, m: GatewayMetrics, onPhase?: (phase: string) => void) {
    const timeoutMs = Math.min(chat.timeoutMs ?? Number.POSITIVE_INFINITY, opts.requestTimeoutMs ?? 600_000)
    const timeout = AbortSignal.timeout(timeoutMs)
    const both = AbortSignal.any([signal, timeout])
    return admission.run(async () => {
      const t0 = performance.now()
      try {
        const result = await opts.swarm.ask(chat.messages, { signal: both, ...(onPhase ? { onPhase } : {}) })
        const roundMs = performance.now() - t0
        store.add({ result, question: chat.messages.at(-1)?.content ?? '', finishedAt: Date.now(), roundMs })
        m.round('ok', result.times)
        return { result, roundMs }
      } catch (err) {
        m.round('failed', undefined)
        throw asApiError(err, timeout.aborted)
      }
    }, both)
  }

  async function stream(chat: ChatRequest, req: FastifyRequest, reply: FastifyReply, abort: AbortController) {
    if (admission.full) {
      throw new ApiError(503, 'service_unavailable', 'the swarm is at capacity; retry shortly', 'overloaded', null, 1)
    }
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
    res.write(': round queued\n\n')
    const started = Date.now()
    try {
      const { result, roundMs } = await runRound(chat, abort.signal, metrics, (phase) => res.write(`: phase ${phase}\n\n`))
      const body = completion(result, roundMs)
      const chunk = (delta: object, extra: object = {}) =>
        `data: ${JSON.stringify({ id: body.id, object: 'chat.completion.chunk', created: body.created, model: SWARM_MODEL, choices: [{ index: 0, delta, logprobs: null, finish_reason: null, ...extra }] })}\n\n`
      res.write(chunk({ role: 'assistant', content: '' }))
      const text = body.choices[0]!.message.content
      for (let i = 0; i < text.length; i += STREAM_PIECE) res.write(chunk({ content: text.slice(i, i + STREAM_PIECE) }))
      res.write(chunk({}, { finish_reason: 'stop' }).replace(/}\n\n$/, `,"chorus":${JSON.stringify(body.chorus)}}\n\n`))
      res.write('data: [DONE]\n\n')
    } catch (err) {
      const e = err instanceof ApiError ? err : asApiError(err, false)
      metrics.apiError(e.code ?? e.type)
      if (!res.destroyed) res.write(`data: ${JSON.stringify(e.toJSON())}\n\n`)
    } finally {
      res.end()
      metrics.request(req.routeOptions.url ?? '/v1/chat/completions', 200, (Date.now() - started) / 1000)
    }
  }

  return { app, store, admission }
}

function modelObject() {
  return { id: SWARM_MODEL, object: 'model', created: 1_795_000_000, owned_by: 'chorus' }
}

function completion(r: RoundResult, roundMs: number) {
  return {
    id: `chatcmpl-${r.roundId.slice(0, 24)}`,
    object: 'chat.completion' as const,
    created: Math.floor(Date.now() / 1000),
    model: SWARM_MODEL,
    choices: [{ index: 0, message: { role: 'assistant' as const, content: r.outcome.answer, refusal: null }, logprobs: null, finish_reason: 'stop' as const }],
    // A swarm spends many models' tokens; per-answer token counts are not measured yet.
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    chorus: provenance(r, roundMs),
  }
}

function asApiError(err: unknown, timedOut: boolean): ApiError {
  if (err instanceof ApiError) return err
  if (timedOut) return new ApiError(504, 'timeout_error', 'the round did not finish before the deadline', 'deadline_exceeded')
  if (err instanceof RoundFailedError) {
    if (err.code === 'NO_MEMBERS') return new ApiError(503, 'service_unavailable', `no node could serve this request: ${err.message}`, 'no_nodes', null, 5)
    if (err.code === 'NO_ANSWERS') return new ApiError(504, 'timeout_error', `no member answered before the deadline: ${err.message}`, 'deadline_exceeded')
    return new ApiError(499 as never, 'invalid_request_error', 'the request was cancelled', 'cancelled')
  }
  return new ApiError(500, 'server_error', 'internal error', 'internal_error')
}
