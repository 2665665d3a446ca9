import type { ChatMessage } from '../protocol/messages.js'
import { type CallOptions, emptyUsage, type JudgeReply, type JudgeRequest, type ModelBackend } from './backend.js'
import { JUDGE_SYSTEM, judgeUserPrompt, parseVerdict, verdictFromProbability } from './judgePrompt.js'
import { parseSse } from './sse.js'

/**
 * Any OpenAI-compatible chat server (Ollama, llama.cpp `llama-server`, vLLM, LM Studio, OpenRouter)
 * over plain fetch: non-streaming or SSE, a timeout per call, the caller's abort signal, and retries
 * with exponential backoff on network errors, 429 and 5xx.
 *
 * Judging asks for one token with `logprobs`/`top_logprobs` and reads P(A) / (P(A) + P(B)); whether
 * the server supports that is probed on the first judgement and remembered. Without logprobs it
 * asks for a reply of at most three tokens and parses it; an unparseable reply is an abstention.
 */
export type HttpBackendErrorCode = 'HTTP_STATUS' | 'TIMEOUT' | 'ABORTED' | 'NETWORK' | 'BAD_RESPONSE' | 'STREAM_ERROR'

export class HttpBackendError extends Error {
  constructor(
    readonly code: HttpBackendErrorCode,
    message: string,
    readonly status?: number,
  ) {
    super(message)
    this.name = 'HttpBackendError'
  }
}

export interface OpenAIHttpOptions {
  /** Base URL up to and including the version, e.g. http://127.0.0.1:11434/v1 */
  baseUrl: string
  model: string
  /** How logs and reports name this model (default openai:<url>#<model>). */
  name?: string
  apiKey?: string
  /** Stream answers over SSE (default true). */
  stream?: boolean
  timeoutMs?: number
  retries?: number
  backoffMs?: number
  maxTokens?: number
  temperature?: number
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch
}

interface ChatResponse {
  choices?: { message?: { content?: string | null }; delta?: { content?: string | null }; logprobs?: { content?: LogprobEntry[] | null } | null }[]
  error?: { message?: string }
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null
}
interface LogprobEntry {
  token: string
  logprob: number
  top_logprobs?: { token: string; logprob: number }[]
}

export class OpenAIHttpBackend implements ModelBackend {
  readonly name: string
  readonly usage = emptyUsage()
  /** undefined until probed; then whether the server returns top_logprobs. */
  logprobsSupported: boolean | undefined
  private readonly opts: Required<Omit<OpenAIHttpOptions, 'apiKey' | 'name'>> & { apiKey?: string }

  constructor(options: OpenAIHttpOptions) {
    this.opts = {
      stream: true,
      timeoutMs: 120_000,
      retries: 2,
      backoffMs: 250,
      maxTokens: 512,
      temperature: 0,
      fetch: globalThis.fetch,
      ...options,
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
    }
    this.name = options.name ?? `openai:${this.opts.baseUrl}#${options.model}`
  }

  /** GET /models: is the server there, and does it serve this model (where it lists them)? */
  async check(options: CallOptions = {}): Promise<void> {
    const timeout = AbortSignal.timeout(Math.min(this.opts.timeoutMs, 5000))
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
    let res: Response
    try {
      res = await this.opts.fetch(`${this.opts.baseUrl}/models`, {
        headers: this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {},
        signal,
      })
    } catch (err) {
      const e = classify(err, signal)
      throw new HttpBackendError(e.code, `${this.name}: ${e.message}; is the server running?`)
    }
    if (res.status === 401 || res.status === 403) throw new HttpBackendError('HTTP_STATUS', `${this.name}: the server refused the API key (${res.status})`, res.status)
    if (!res.ok) return // Some servers have no /models; the first real call will tell.
    const body = (await res.json().catch(() => null)) as { data?: { id?: string }[] } | null
    const ids = body?.data?.map((m) => m.id)
    if (ids && ids.length > 0 && !ids.includes(this.opts.model)) {
      throw new HttpBackendError('BAD_RESPONSE', `${this.name}: the server does not serve '${this.opts.model}' (it has ${ids.slice(0, 8).join(', ')})`)
    }
  }

  async answer(messages: readonly ChatMessage[], options: CallOptions = {}): Promise<string> {
    const s = options.sampling
    const body = {
      model: this.opts.model,
      messages,
      temperature: s?.temperature ?? this.opts.temperature,
      // Fewer tokens than this node allows, never more.
      max_tokens: s?.maxTokens === undefined ? this.opts.maxTokens : Math.min(s.maxTokens, this.opts.maxTokens ?? s.maxTokens),
      ...(s?.topP === undefined ? {} : { top_p: s.topP }),
      ...(s?.seed === undefined ? {} : { seed: s.seed }),
      ...(s?.stop === undefined ? {} : { stop: s.stop }),
    }
    const text = this.opts.stream ? await this.streamed(body, options) : contentOf(await this.json(body, options))
    return stripThinking(text)
  }

  async judge(req: JudgeRequest, options: CallOptions = {}): Promise<JudgeReply> {
    const messages = [
      { role: 'system', content: JUDGE_SYSTEM },
      { role: 'user', content: judgeUserPrompt(req.question, req.first, req.second) },
    ]
    if (this.logprobsSupported !== false) {
      const res = await this.json({ model: this.opts.model, messages, temperature: 0, max_tokens: 1, logprobs: true, top_logprobs: 10 }, options)
      const top = res.choices?.[0]?.logprobs?.content?.[0]?.top_logprobs
      if (this.logprobsSupported === undefined) this.logprobsSupported = Array.isArray(top) && top.length > 0
      if (this.logprobsSupported && top) {
        const p = (letter: string) => top.filter((t) => t.token.trim().toUpperCase() === letter).reduce((s, t) => s + Math.exp(t.logprob), 0)
        const pa = p('A')
        const pb = p('B')
        if (pa + pb > 0) return verdictFromProbability(pa / (pa + pb))
        return parseVerdict(contentOf(res))
      }
      if (this.logprobsSupported === false) return parseVerdict(contentOf(res))
    }
    return parseVerdict(contentOf(await this.json({ model: this.opts.model, messages, temperature: 0, max_tokens: 3 }, options)))
  }

  private async json(body: object, options: CallOptions): Promise<ChatResponse> {
    return this.withRetries(options, async (signal) => {
      const res = await this.post({ ...body, stream: false }, signal)
      let parsed: ChatResponse
      try {
        parsed = (await res.json()) as ChatResponse
      } catch {
        throw new HttpBackendError('BAD_RESPONSE', 'the server did not return JSON')
      }
      if (parsed.error) throw new HttpBackendError('BAD_RESPONSE', `server error: ${parsed.error.message ?? 'unknown'}`)
      if (!Array.isArray(parsed.choices) || parsed.choices.length === 0) throw new HttpBackendError('BAD_RESPONSE', 'no choices in the response')
      this.count(parsed.usage, options)
      return parsed
    })
  }

  private async streamed(body: object, options: CallOptions): Promise<string> {
    return this.withRetries(options, async (signal) => {
      // include_usage: the server adds a last chunk with the call's token counts.
      const res = await this.post({ ...body, stream: true, stream_options: { include_usage: true } }, signal)
      if (res.body === null) throw new HttpBackendError('BAD_RESPONSE', 'empty stream')
      let text = ''
      let done = false
      let usage: ChatResponse['usage']
      try {
        for await (const ev of parseSse(res.body as unknown as AsyncIterable<Uint8Array>)) {
          if (ev.data === '[DONE]') {
            done = true
            break
          }
          let chunk: ChatResponse
          try {
            chunk = JSON.parse(ev.data) as ChatResponse
          } catch {
            throw new HttpBackendError('BAD_RESPONSE', 'a stream event is not JSON')
          }
          if (chunk.error) throw new HttpBackendError('STREAM_ERROR', `the server failed mid-stream: ${chunk.error.message ?? 'unknown'}`)
          text += chunk.choices?.[0]?.delta?.content ?? ''
          if (chunk.usage) usage = chunk.usage
        }
      } catch (err) {
        if (err instanceof HttpBackendError) throw err
        throw classify(err, signal)
      }
      if (!done) throw new HttpBackendError('STREAM_ERROR', 'the stream ended before [DONE]')
      this.count(usage, options)
      return text
    })
  }

  private count(usage: ChatResponse['usage'], options: CallOptions): void {
    this.usage.calls++
    if (typeof usage?.prompt_tokens !== 'number' || typeof usage.completion_tokens !== 'number') return
    const prompt = Math.max(0, Math.floor(usage.prompt_tokens))
    const completion = Math.max(0, Math.floor(usage.completion_tokens))
    this.usage.promptTokens += prompt
    this.usage.completionTokens += completion
    this.usage.reported++
    options.onUsage?.({ prompt, completion })
  }

  private async post(body: object, signal: AbortSignal): Promise<Response> {
    let res: Response
    try {
      res = await this.opts.fetch(`${this.opts.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {}) },
        body: JSON.stringify(body),
        signal,
      })
    } catch (err) {
      throw classify(err, signal)
    }
    if (!res.ok) {
      const detail = (await res.text().catch(() => '')).slice(0, 200)
      throw new HttpBackendError('HTTP_STATUS', `${this.opts.baseUrl} answered ${res.status}${detail ? `: ${detail}` : ''}`, res.status)
    }
    return res
  }

  private async withRetries<T>(options: CallOptions, attempt: (signal: AbortSignal) => Promise<T>): Promise<T> {
    for (let k = 0; ; k++) {
      options.signal?.throwIfAborted()
      const timeout = AbortSignal.timeout(this.opts.timeoutMs)
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
      try {
        return await attempt(signal)
      } catch (err) {
        const e = err instanceof HttpBackendError ? err : classify(err, signal)
        if (options.signal?.aborted) throw new HttpBackendError('ABORTED', 'aborted by the caller')
        if (!retryable(e) || k >= this.opts.retries) throw e
        await sleep(this.opts.backoffMs * 2 ** k, options.signal)
      }
    }
  }
}

function retryable(e: HttpBackendError): boolean {
  return e.code === 'NETWORK' || e.code === 'TIMEOUT' || (e.code === 'HTTP_STATUS' && (e.status === 429 || (e.status ?? 0) >= 500))
}

function classify(err: unknown, signal: AbortSignal): HttpBackendError {
  if (err instanceof HttpBackendError) return err
  if (signal.aborted) {
    const reason = signal.reason as { name?: string } | undefined
    return reason?.name === 'TimeoutError' ? new HttpBackendError('TIMEOUT', 'the model server did not answer in time') : new HttpBackendError('ABORTED', 'aborted')
  }
  return new HttpBackendError('NETWORK', `cannot reach the model server: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause: Error }).cause.message})` : ''}`)
}

function contentOf(res: ChatResponse): string {
  return res.choices?.[0]?.message?.content ?? ''
}

/** Reasoning models think aloud in <think> blocks; the answer is what follows. */
export function stripThinking(text: string): string {
  return text.replace(/<think>[\s\S]*?(<\/think>|$)/gi, '').trim()
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t)
        reject(new HttpBackendError('ABORTED', 'aborted by the caller'))
      },
      { once: true },
    )
  })
}
