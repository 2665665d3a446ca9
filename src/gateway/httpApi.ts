import { randomBytes } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { transcriptFile } from '../round/transcript.js'
import { Admission } from './admission.js'
import { ApiError } from './apiError.js'
import { type ChatRequest, SWARM_MODEL, parseChatRequest } from './chatRequest.js'
import { type GatewayMetrics, type MetricsPage, noMetrics } from './metrics.js'
import { installCors } from './cors.js'
import { provenance } from './provenance.js'
import { answerEvents, openingEvents, parseResponsesRequest, responseObject } from './responsesApi.js'
import { type RateLimit, RateLimiter } from '../runtime/rateLimiter.js'
import { DEFAULT_STORE_LIMITS, RoundStore, type RoundStoreLimits, settledRound, storedRound } from './roundStore.js'
import { type DashboardLedger, ledgerlessDashboard } from './dashboard/dashboardLedger.js'
import { LiveRounds } from './dashboard/liveRounds.js'
import { installDashboard } from './dashboard/routes.js'
import { PaymentRequiredError } from './paymaster.js'
import { type Redaction, Redactor } from './privacy/redaction.js'
import { RoundFailedError, type RoundResult, type Swarm } from './swarm.js'

/**
 * The OpenAI-compatible HTTP API over a Swarm. One round per completion request; the answer comes
 * back in OpenAI's shape with the round's provenance under `chorus`, and the signed transcript stays
 * available at /v1/rounds/:id for anyone to verify.
 *
 * Access is decided on the route that runs, never on the raw URL: every route requires the API key
 * (when keys are configured) unless it is marked public (health, readiness, metrics), so a path the
 * router decodes to /v1/… (`/%761/…`, `/v%31/…`) is checked like /v1/… itself, and an unknown path
 * is 401 before it is 404. Failed keys are rate-limited per client address.
 */
export interface GatewayOptions {
  swarm: Swarm
  /** Bearer keys accepted; none configured means an open gateway. */
  apiKeys?: readonly string[]
  /**
   * Keys that belong to a client's ledger account: its requests are charged there, and it reads
   * only its own rounds. A key without an account is the operator's: charged to the gateway's own
   * account, and it reads every round.
   */
  keyAccounts?: ReadonlyMap<string, string>
  /** Per key (per client address on an open gateway). */
  rateLimit?: RateLimit
  /** Wrong or missing keys a client address may present before it must wait (default 10, then 1/s). */
  authFailures?: RateLimit
  maxActiveRounds?: number
  maxQueuedRounds?: number
  bodyLimitBytes?: number
  /** How long a client may take to send its whole request, headers and body (default 30 s). */
  requestReceiveMs?: number
  /** How long a request may wait for its round unless it asks for less (default 10 min). */
  roundWaitMs?: number
  store?: RoundStoreLimits
  metrics?: GatewayMetrics
  /** Served at GET /metrics when given. */
  metricsPage?: MetricsPage
  /** Origins browsers may call the API from (cors.ts); none: no CORS headers. */
  corsOrigins?: readonly string[]
  /** Where a line per request and per round goes (pino at the edge; none: nowhere). */
  log?: EventLog
  /**
   * Replaces personal data in the client's messages before the Query is signed and broadcast, and
   * puts it back in the answer (privacy/redaction.ts; `--redact`). None: messages go as sent.
   */
  redactor?: Redactor
  /**
   * Every round private unless its request says `chorus: {private: false}` (`--private`): the Query
   * broadcasts only the prompt's hash and size, and the seated members alone get the prompt.
   */
  privatePrompts?: boolean
  /** The dashboard at `/` (dashboard/routes.ts): its ledger reads and the eval reports folder. */
  dashboard?: { ledger?: DashboardLedger; metered?: boolean; reportsDir?: string }
}

/** The structural part of a logger the gateway uses (pino's Logger has it). */
export interface EventLog {
  info(fields: Record<string, unknown>, msg: string): void
}

export interface Gateway {
  app: FastifyInstance
  store: RoundStore
  admission: Admission
  live: LiveRounds
}

const STREAM_PIECE = 96
const DEFAULT_AUTH_FAILURES: RateLimit = { ratePerS: 1, burst: 10 }

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without an API key. */
    public?: boolean
  }
}

export function createGateway(opts: GatewayOptions): Gateway {
  const receiveMs = opts.requestReceiveMs ?? 30_000
  const app = Fastify({
    bodyLimit: opts.bodyLimitBytes ?? 1024 * 1024,
    logger: false,
    // Idle keep-alive connections must not hold shutdown open.
    forceCloseConnections: true,
    // A client that drips its headers or body holds a connection only this long (408).
    requestTimeout: receiveMs,
    http: { headersTimeout: Math.min(receiveMs, 10_000), connectionsCheckingInterval: Math.max(50, Math.min(1000, receiveMs / 4)) },
  })
  const store = new RoundStore(opts.store ?? DEFAULT_STORE_LIMITS)
  const admission = new Admission(opts.maxActiveRounds ?? 4, opts.maxQueuedRounds ?? 256)
  const live = new LiveRounds()
  const metrics = opts.metrics ?? noMetrics
  const limiter = opts.rateLimit ? new RateLimiter(opts.rateLimit) : undefined
  const failures = new RateLimiter(opts.authFailures ?? DEFAULT_AUTH_FAILURES)
  const keys = new Set([...(opts.apiKeys ?? []), ...(opts.keyAccounts?.keys() ?? [])])
  /** The account each request's key pays from and reads as (none: the operator or an open gateway). */
  const accountOf = new WeakMap<FastifyRequest, string>()
  /** Requests answered by a hijacked stream: they count themselves in the metrics when they end. */
  const streamed = new WeakSet<FastifyRequest>()

  const logRequest = (req: FastifyRequest, status: number, ms: number) =>
    opts.log?.info({ method: req.method, path: req.url.split('?')[0], status, ms: Math.round(ms) }, 'request')
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
    if (streamed.has(req)) return
    metrics.request(req.routeOptions.url ?? 'unknown', reply.statusCode, reply.elapsedTime / 1000)
    logRequest(req, reply.statusCode, reply.elapsedTime)
  })
  // Preflights are answered before the key is asked for.
  if (opts.corsOrigins !== undefined && opts.corsOrigins.length > 0) installCors(app, { origins: opts.corsOrigins })
  app.addHook('onRequest', async (req) => {
    if (req.routeOptions.config.public === true) return
    let who = req.ip
    if (keys.size > 0) {
      // Checked before the key: a client that keeps guessing waits like anyone over their limit.
      const blocked = failures.peek(req.ip)
      if (!blocked.ok) throw new ApiError(429, 'rate_limit_error', 'too many failed API keys from this address; slow down', 'rate_limit_exceeded', null, blocked.retryAfterS)
      const auth = req.headers.authorization
      const key = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined
      if (key === undefined || !keys.has(key)) {
        failures.take(req.ip)
        if (key === undefined) throw new ApiError(401, 'authentication_error', 'no API key: send Authorization: Bearer <key>', 'missing_api_key')
        throw new ApiError(401, 'authentication_error', 'the API key is not valid', 'invalid_api_key')
      }
      who = `key:${key}`
      const account = opts.keyAccounts?.get(key)
      if (account !== undefined) accountOf.set(req, account)
    }
    const taken = limiter?.take(who)
    if (taken && !taken.ok) throw new ApiError(429, 'rate_limit_error', 'too many requests; slow down', 'rate_limit_exceeded', null, taken.retryAfterS)
  })

  const open = { config: { public: true } }
  app.get('/healthz', open, async () => ({ status: 'ok' }))
  app.get('/readyz', open, async (_req, reply) => {
    const nodes = (await opts.swarm.nodes()).length
    const ready = nodes >= opts.swarm.minMembers
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', nodes, needed: opts.swarm.minMembers })
  })
  const page = opts.metricsPage
  if (page !== undefined) app.get('/metrics', open, async (_req, reply) => reply.type(page.contentType).send(await page.render()))
  app.get('/v1/models', async () => ({ object: 'list', data: [modelObject()] }))
  app.get<{ Params: { id: string } }>('/v1/models/:id', async (req) => {
    if (req.params.id !== SWARM_MODEL) throw new ApiError(404, 'not_found_error', `the model '${req.params.id}' does not exist`, 'model_not_found')
    return modelObject()
  })
  app.get('/v1/nodes', async () => ({ object: 'list', data: await opts.swarm.nodes() }))
  app.get<{ Querystring: { limit?: string } }>('/v1/rounds', async (req) => {
    const limit = Math.min(Math.max(Number(req.query.limit ?? 20) || 20, 1), 1000)
    return {
      object: 'list',
      data: store.recent(limit, Date.now(), accountOf.get(req)).map((s) => ({
        round: s.round,
        question: s.question,
        finished_at: Math.floor(s.finishedAt / 1000),
        ranked: s.ranked,
        winner: s.winner,
        transcript_root: s.root,
        round_ms: Math.round(s.roundMs),
      })),
    }
  })
  app.get<{ Params: { id: string } }>('/v1/rounds/:id', async (req, reply) => {
    // Another client's round is as absent as one never run: its existence is not told either.
    const s = store.get(req.params.id, Date.now(), accountOf.get(req))
    if (s === undefined) throw new ApiError(404, 'not_found_error', `no round ${req.params.id} of yours on this gateway (it keeps the most recent ones)`, 'round_not_found')
    return reply.type('application/json; charset=utf-8').send(s.transcript)
  })

  app.post('/v1/chat/completions', async (req, reply) => {
    const chat = parseChatRequest(req.body)
    const { cancel, done } = cancelOnClose(reply)
    if (chat.stream) return stream(chat, req, reply, cancel)
    try {
      const { result, roundMs } = await runRound(chat, cancel, accountOf.get(req))
      return completion(result, roundMs, originOf(req))
    } finally {
      done()
    }
  })

  /**
   * One round for a request. `cancel` aborts with 'closed' when the client goes away and with
   * 'timeout' when its wait runs out; one controller and one timer, both released here, so a
   * finished request leaves nothing behind.
   */
  async function runRound(chat: ChatRequest, cancel: AbortController, account: string | undefined, onPhase?: (phase: string) => void) {
    const waitMs = Math.min(chat.timeoutMs ?? Number.POSITIVE_INFINITY, opts.roundWaitMs ?? 600_000)
    const timer = setTimeout(() => cancel.abort('timeout'), waitMs)
    // What leaves the gateway: the messages with personal data replaced (the client's own stay here).
    const redacting = opts.redactor?.redact(chat.messages.map((m) => m.content))
    const messages = redacting ? chat.messages.map((m, i) => ({ ...m, content: redacting.texts[i]! })) : chat.messages
    const question = messages.at(-1)?.content ?? ''
    const watched = live.open(question, Date.now(), account)
    // Before any work: the payer must cover what the request may cost (402 otherwise).
    let release = () => {}
    try {
      release = (await opts.swarm.authorize?.(account, cancel.signal)) ?? release
      return await admission.run(async () => {
        const t0 = performance.now()
        watched.phase('joining', Date.now())
        onPhase?.('joining')
        try {
          const asked = await opts.swarm.ask(messages, {
            signal: cancel.signal,
            answer: chat.answer,
            ...(chat.domains ? { domains: chat.domains } : {}),
            ...(chat.sampling ? { sampling: chat.sampling } : {}),
            ...((chat.private ?? opts.privatePrompts) ? { private: true } : {}),
            ...(chat.operators ? { operators: chat.operators } : {}),
            onPhase: (phase, _at, round) => {
              watched.phase(phase, Date.now(), round)
              onPhase?.(phase)
            },
            ...(account ? { payer: account } : {}),
          })
          const roundMs = performance.now() - t0
          const result = redacting ? restored(asked, redacting.redaction) : asked
          // The hold lasts until the ledger has charged the round.
          const settled = result.settlement
          if (settled !== undefined) {
            void settled.finally(release)
            release = () => {}
          }
          const kept = storedRound(result, question, roundMs, JSON.stringify(transcriptFile(result.transcript)), Date.now(), account)
          store.add(kept)
          settled?.then((receipt) => {
            if (receipt !== undefined) kept.settlement = settledRound(receipt)
          }, () => {})
          metrics.round('ok', result.times)
          if (opts.log) logRound(opts.log, result, roundMs)
          return { result, roundMs }
        } catch (err) {
          metrics.round('failed', undefined)
          throw err
        }
      }, cancel.signal)
    } catch (err) {
      throw asApiError(err, cancel.signal.reason)
    } finally {
      release()
      clearTimeout(timer)
      watched.close()
    }
  }

  app.post('/v1/responses', async (req, reply) => {
    const chat = parseResponsesRequest(req.body)
    const { cancel, done } = cancelOnClose(reply)
    const createdAt = Math.floor(Date.now() / 1000)
    if (chat.stream) return streamResponse(chat, req, reply, cancel, createdAt)
    try {
      const { result, roundMs } = await runRound(chat, cancel, accountOf.get(req))
      return responseObject(result, roundMs, originOf(req), createdAt)
    } finally {
      done()
    }
  })

  /** A streamed Response: `event:`/`data:` pairs with sequence numbers, the round's phases as comments between. */
  async function streamResponse(chat: ChatRequest, req: FastifyRequest, reply: FastifyReply, cancel: AbortController, createdAt: number) {
    streamed.add(req)
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
    let seq = 0
    const send = (e: object) => res.write(`event: ${(e as { type: string }).type}\ndata: ${JSON.stringify({ ...e, sequence_number: seq++ })}\n\n`)
    const id = `resp_${randomBytes(16).toString('hex')}`
    const started = performance.now()
    let status = 200
    try {
      for (const e of openingEvents(id, createdAt)) send(e)
      const { result, roundMs } = await runRound(chat, cancel, accountOf.get(req), (phase) => res.write(`: phase ${phase}\n\n`))
      for (const e of answerEvents(id, result, roundMs, originOf(req), createdAt, STREAM_PIECE)) send(e)
    } catch (err) {
      const e = err instanceof ApiError ? err : asApiError(err, undefined)
      status = e.status
      metrics.apiError(e.code ?? e.type)
      if (!res.destroyed) send({ type: 'error', code: e.code ?? e.type, message: e.message, param: e.param ?? null })
    } finally {
      res.end()
      metrics.request(req.routeOptions.url ?? '/v1/responses', status, (performance.now() - started) / 1000)
      logRequest(req, status, performance.now() - started)
    }
  }

  async function stream(chat: ChatRequest, req: FastifyRequest, reply: FastifyReply, cancel: AbortController) {
    if (admission.full) {
      throw new ApiError(503, 'service_unavailable', 'the swarm is at capacity; retry shortly', 'overloaded', null, 1)
    }
    streamed.add(req)
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
    res.write(': round queued\n\n')
    const started = performance.now()
    try {
      const { result, roundMs } = await runRound(chat, cancel, accountOf.get(req), (phase) => res.write(`: phase ${phase}\n\n`))
      const body = completion(result, roundMs, originOf(req))
      const chunk = (delta: object, extra: object = {}) =>
        `data: ${JSON.stringify({ id: body.id, object: 'chat.completion.chunk', created: body.created, model: SWARM_MODEL, choices: [{ index: 0, delta, logprobs: null, finish_reason: null, ...extra }] })}\n\n`
      res.write(chunk({ role: 'assistant', content: '' }))
      const text = body.choices[0]!.message.content
      for (let i = 0; i < text.length; i += STREAM_PIECE) res.write(chunk({ content: text.slice(i, i + STREAM_PIECE) }))
      res.write(chunk({}, { finish_reason: 'stop' }).replace(/}\n\n$/, `,"chorus":${JSON.stringify(body.chorus)}}\n\n`))
      // As OpenAI sends it: one more chunk, with no choices and the whole request's usage.
      if (chat.includeUsage) res.write(`data: ${JSON.stringify({ id: body.id, object: 'chat.completion.chunk', created: body.created, model: SWARM_MODEL, choices: [], usage: body.usage })}\n\n`)
      res.write('data: [DONE]\n\n')
    } catch (err) {
      const e = err instanceof ApiError ? err : asApiError(err, undefined)
      metrics.apiError(e.code ?? e.type)
      if (!res.destroyed) res.write(`data: ${JSON.stringify(e.toJSON())}\n\n`)
    } finally {
      res.end()
      metrics.request(req.routeOptions.url ?? '/v1/chat/completions', 200, (performance.now() - started) / 1000)
      logRequest(req, 200, performance.now() - started)
    }
  }

  installDashboard(app, {
    swarm: opts.swarm,
    store,
    admission,
    live,
    ledger: opts.dashboard?.ledger ?? ledgerlessDashboard,
    metered: opts.dashboard?.metered ?? false,
    ...(opts.dashboard?.reportsDir === undefined ? {} : { reportsDir: opts.dashboard.reportsDir }),
    ownerOf: (req) => accountOf.get(req),
  })

  return { app, store, admission, live }
}

/** The round as the client sees it: its answer with the placeholders put back, and what was replaced. */
function restored(r: RoundResult, redaction: Redaction): RoundResult {
  if (redaction.values.size === 0) return r
  return { ...r, outcome: { ...r.outcome, answer: Redactor.restore(r.outcome.answer, redaction) }, redacted: redaction.counts }
}

function modelObject() {
  return { id: SWARM_MODEL, object: 'model', created: 1_795_000_000, owned_by: 'chorus' }
}

/** The round's log line, built only where a log is kept (a provenance per round is not free). */
function logRound(log: EventLog, r: RoundResult, roundMs: number): void {
  const p = provenance(r, roundMs, '')
  log.info({ round: r.roundId.slice(0, 16), answers: p.answers, ranked: p.ranked, separated: p.separated, phases_ms: p.phases_ms, tokens: r.usage.prompt + r.usage.completion }, 'round')
}

/** A controller that aborts with 'closed' when the client goes away before its answer is written; `done` stops watching. */
function cancelOnClose(reply: FastifyReply): { cancel: AbortController; done: () => void } {
  const cancel = new AbortController()
  const onClose = () => {
    if (!reply.raw.writableFinished) cancel.abort('closed')
  }
  reply.raw.once('close', onClose)
  return { cancel, done: () => reply.raw.off('close', onClose) }
}

/** The scheme and host the client used to reach this gateway (its Host header: the client's own view). */
function originOf(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}`
}

function completion(r: RoundResult, roundMs: number, origin: string) {
  return {
    id: `chatcmpl-${r.roundId.slice(0, 24)}`,
    object: 'chat.completion' as const,
    created: Math.floor(Date.now() / 1000),
    model: SWARM_MODEL,
    choices: [{ index: 0, message: { role: 'assistant' as const, content: r.outcome.answer, refusal: null }, logprobs: null, finish_reason: 'stop' as const }],
    // Every member's answer and every judge's verdicts, as each signed its backend's counts.
    usage: { prompt_tokens: r.usage.prompt, completion_tokens: r.usage.completion, total_tokens: r.usage.prompt + r.usage.completion },
    chorus: provenance(r, roundMs, origin),
  }
}

/** `cancelled` is why the request's controller aborted: 'timeout', 'closed', or not at all. */
function asApiError(err: unknown, cancelled: unknown): ApiError {
  if (err instanceof ApiError) return err
  if (err instanceof PaymentRequiredError) return new ApiError(402, 'insufficient_quota', err.message, 'insufficient_balance')
  if (cancelled === 'timeout') return new ApiError(504, 'timeout_error', 'the round did not finish before the deadline', 'deadline_exceeded')
  if (err instanceof RoundFailedError) {
    if (err.code === 'NO_MEMBERS') return new ApiError(503, 'service_unavailable', `no node could serve this request: ${err.message}`, 'no_nodes', null, 5)
    if (err.code === 'NO_ANSWERS') return new ApiError(504, 'timeout_error', `no member answered before the deadline: ${err.message}`, 'deadline_exceeded')
    if (err.code === 'NO_BEACON') return new ApiError(503, 'service_unavailable', `the ledger gave this round no beacon: ${err.message}`, 'ledger_unavailable', null, 5)
    if (err.code === 'LATE') return new ApiError(503, 'service_unavailable', `the gateway fell behind its own deadlines: ${err.message}`, 'gateway_overloaded', null, 5)
    if (err.code === 'TOO_LARGE') return new ApiError(400, 'invalid_request_error', `the messages are too large for one round: ${err.message}`, 'request_too_large', 'messages')
    if (err.code === 'NO_LEDGER') return new ApiError(400, 'invalid_request_error', err.message, 'no_ledger', 'chorus.operators')
    if (err.code === 'NO_DEPOSIT') return new ApiError(503, 'service_unavailable', err.message, 'gateway_deposit_exhausted', null, 5)
    // The client is gone; nobody reads this (499 is nginx's "client closed request").
    return new ApiError(499, 'invalid_request_error', 'the request was cancelled', 'cancelled')
  }
  return new ApiError(500, 'server_error', 'internal error', 'internal_error')
}
