import { ANSWER_TYPES, AUTO_SPEC, type AnswerSpec, type AnswerType, type MarkerPolicy } from '../consensus/answerTypes.js'
import { MAX_CHAT_MESSAGES, MAX_DOMAINS, MAX_MESSAGE_CHARS, MAX_OPERATORS } from '../protocol/limits.js'
import type { ChatMessage } from '../protocol/messages.js'
import { ApiError, badRequest } from './apiError.js'
import { type SignedSampling, samplingRequest } from './samplingRequest.js'

/**
 * Validates a `POST /v1/chat/completions` body. Accepts what OpenAI clients send (string or
 * text-part content; the sampling fields, which reach every member's backend through the Query)
 * and refuses the rest with the parameter named.
 */
export const SWARM_MODEL = 'chorus-swarm'

export interface ChatRequest {
  model: string
  messages: ChatMessage[]
  stream: boolean
  /** How long the caller will wait for the round, in ms (extension: `chorus.timeout_ms`). */
  timeoutMs?: number
  /**
   * How the swarm reads and groups the replies (extension: `chorus.answer_type`, and
   * `chorus.answer_marker` first|last): auto unless the client names a type.
   */
  answer: AnswerSpec
  /** `stream_options.include_usage`: a last chunk with the usage, before [DONE]. */
  includeUsage?: boolean
  /** Domain tags the Query carries (extension: `chorus.domains`); nodes declaring domains join only rounds tagged with one of theirs. */
  domains?: string[]
  /** Only nodes of these operator accounts may take part (extension: `chorus.operators`, ledger account ids). */
  operators?: string[]
  /** Whether the Query broadcasts only the prompt's hash (extension: `chorus.private`; default: the gateway's setting). */
  private?: boolean
  /** How members sample their answers (samplingRequest.ts). */
  sampling?: SignedSampling
}

/** Accepted as OpenAI clients send them; the sampling ones are checked by samplingRequest. */
const ACCEPTED = new Set([
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'n',
  'stop',
  'presence_penalty',
  'frequency_penalty',
  'user',
  'seed',
  'logit_bias',
  'metadata',
  'store',
  'parallel_tool_calls',
  'response_format',
  'service_tier',
])

const CHORUS_FIELDS = ['timeout_ms', 'answer_type', 'answer_marker', 'domains', 'private', 'operators']
/** A domain tag as a Query carries it (protocol/messages.ts: at most 64 characters). */
const DOMAIN = /^[\p{L}\p{N}][\p{L}\p{N}._:/-]{0,63}$/u

export function parseChatRequest(body: unknown): ChatRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the request body must be a JSON object')
  const b = body as Record<string, unknown>
  for (const k of Object.keys(b)) {
    if (k !== 'model' && k !== 'messages' && k !== 'stream' && k !== 'stream_options' && k !== 'chorus' && !ACCEPTED.has(k)) {
      throw badRequest(`unsupported parameter '${k}'`, k, 'unsupported_parameter')
    }
  }
  if (typeof b.model !== 'string' || b.model === '') throw badRequest('model must be a string', 'model')
  if (b.model !== SWARM_MODEL) throw new ApiError(404, 'not_found_error', `the model '${b.model}' does not exist; this gateway serves '${SWARM_MODEL}'`, 'model_not_found', 'model')
  if (b.stream !== undefined && typeof b.stream !== 'boolean') throw badRequest('stream must be a boolean', 'stream')
  if (b.n !== undefined && b.n !== 1) throw badRequest('n must be 1: the swarm returns one answer', 'n')
  if (!Array.isArray(b.messages) || b.messages.length === 0) throw badRequest('messages must be a non-empty array', 'messages')
  if (b.messages.length > MAX_CHAT_MESSAGES) throw badRequest(`at most ${MAX_CHAT_MESSAGES} messages`, 'messages')
  const messages = b.messages.map((m, i) => message(m, i))
  if (!messages.some((m) => m.role === 'user')) throw badRequest('messages must include a user message', 'messages')
  let includeUsage = false
  if (b.stream_options !== undefined && b.stream_options !== null) {
    if (b.stream !== true) throw badRequest('stream_options is only allowed with stream: true', 'stream_options')
    const o = b.stream_options as { include_usage?: unknown }
    if (typeof o !== 'object' || (o.include_usage !== undefined && typeof o.include_usage !== 'boolean')) throw badRequest('stream_options.include_usage must be a boolean', 'stream_options.include_usage')
    includeUsage = o.include_usage === true
  }
  const sampling = samplingRequest(b, ['max_tokens', 'max_completion_tokens'])
  return { model: b.model, messages, stream: b.stream === true, ...(includeUsage ? { includeUsage } : {}), ...(sampling ? { sampling } : {}), ...chorusExtension(b.chorus) }
}

/** The options both APIs take under `chorus`: the wait, the answer type, the domain tags, privacy. */
export function chorusExtension(ext: unknown): Pick<ChatRequest, 'answer' | 'timeoutMs' | 'domains' | 'private' | 'operators'> {
  let timeoutMs: number | undefined
  let answer = AUTO_SPEC
  let domains: string[] | undefined
  if (ext !== undefined) {
    const c = ext as Record<string, unknown> | null
    if (typeof c !== 'object' || c === null || Array.isArray(c) || Object.keys(c).some((k) => !CHORUS_FIELDS.includes(k))) throw badRequest(`chorus takes only ${CHORUS_FIELDS.join(', ')}`, 'chorus')
    if (c.timeout_ms !== undefined && !(Number.isInteger(c.timeout_ms) && (c.timeout_ms as number) > 0)) throw badRequest('chorus.timeout_ms must be a positive integer', 'chorus.timeout_ms')
    timeoutMs = c.timeout_ms as number | undefined
    if (c.answer_type !== undefined && !(ANSWER_TYPES as readonly unknown[]).includes(c.answer_type)) throw badRequest(`chorus.answer_type must be one of ${ANSWER_TYPES.join(', ')}`, 'chorus.answer_type')
    if (c.answer_marker !== undefined && c.answer_marker !== 'first' && c.answer_marker !== 'last') throw badRequest('chorus.answer_marker must be first or last', 'chorus.answer_marker')
    answer = { type: (c.answer_type as AnswerType | undefined) ?? 'auto', marker: (c.answer_marker as MarkerPolicy | undefined) ?? 'last' }
    if (c.domains !== undefined) {
      const d = c.domains
      if (!Array.isArray(d) || d.length > MAX_DOMAINS || !d.every((t) => typeof t === 'string' && DOMAIN.test(t))) {
        throw badRequest(`chorus.domains must be at most ${MAX_DOMAINS} tags of letters, digits and . _ : / - (up to 64 characters each)`, 'chorus.domains')
      }
      domains = [...new Set(d as string[])]
    }
  }
  const priv = (ext as { private?: unknown } | undefined)?.private
  if (priv !== undefined && typeof priv !== 'boolean') throw badRequest('chorus.private must be true or false', 'chorus.private')
  const ops = (ext as { operators?: unknown } | undefined)?.operators
  if (ops !== undefined && !(Array.isArray(ops) && ops.length >= 1 && ops.length <= MAX_OPERATORS && ops.every((o) => typeof o === 'string' && /^[0-9a-f]{64}$/.test(o))))
    throw badRequest(`chorus.operators must be 1 to ${MAX_OPERATORS} operator account ids (64 lowercase hex characters each)`, 'chorus.operators')
  const operators = ops === undefined ? undefined : [...new Set(ops as string[])].sort()
  return { answer, ...(timeoutMs === undefined ? {} : { timeoutMs }), ...(domains === undefined ? {} : { domains }), ...(priv === undefined ? {} : { private: priv }), ...(operators === undefined ? {} : { operators }) }
}

export function message(m: unknown, i: number): ChatMessage {
  const param = `messages[${i}]`
  if (typeof m !== 'object' || m === null) throw badRequest(`${param} must be an object`, param)
  const { role, content } = m as { role?: unknown; content?: unknown }
  if (role !== 'system' && role !== 'user' && role !== 'assistant' && role !== 'developer') {
    throw badRequest(`${param}.role must be system, developer, user or assistant`, `${param}.role`)
  }
  let text: string
  if (typeof content === 'string') text = content
  else if (Array.isArray(content) && content.every((p) => typeof p === 'object' && p !== null && (p as { type?: unknown }).type === 'text' && typeof (p as { text?: unknown }).text === 'string')) {
    text = content.map((p) => (p as { text: string }).text).join('')
  } else throw badRequest(`${param}.content must be a string or text parts`, `${param}.content`)
  if (text.length > MAX_MESSAGE_CHARS) throw badRequest(`${param}.content is longer than ${MAX_MESSAGE_CHARS} characters`, `${param}.content`)
  return { role: role === 'developer' ? 'system' : role, content: text }
}
