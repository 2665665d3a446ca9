import { MAX_CHAT_MESSAGES } from '../protocol/limits.js'
import type { ChatMessage } from '../protocol/messages.js'
import { ApiError, badRequest } from './apiError.js'
import { type ChatRequest, chorusExtension, message, SWARM_MODEL } from './chatRequest.js'
import { provenance } from './provenance.js'
import { samplingRequest } from './samplingRequest.js'
import type { RoundResult } from './swarm.js'

/**
 * OpenAI's Responses API (`POST /v1/responses`), text in and text out, plain and streamed: what
 * recent SDKs call by default (the AI SDK's `openai(model)`). A request becomes the same round a
 * chat completion would run; what a swarm cannot do (tools, stored conversations, background runs)
 * is refused with the parameter named, and sampling fields are accepted as chat completions accept them.
 */
const ACCEPTED = new Set(['model', 'input', 'instructions', 'stream', 'chorus', 'store', 'metadata', 'user', 'temperature', 'top_p', 'max_output_tokens', 'truncation', 'parallel_tool_calls', 'service_tier', 'safety_identifier', 'prompt_cache_key', 'reasoning', 'include', 'text', 'tools', 'tool_choice'])

export function parseResponsesRequest(body: unknown): ChatRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the request body must be a JSON object')
  const b = body as Record<string, unknown>
  for (const k of Object.keys(b)) {
    if (!ACCEPTED.has(k)) throw badRequest(`unsupported parameter '${k}'`, k, 'unsupported_parameter')
  }
  if (typeof b.model !== 'string' || b.model === '') throw badRequest('model must be a string', 'model')
  if (b.model !== SWARM_MODEL) throw new ApiError(404, 'not_found_error', `the model '${b.model}' does not exist; this gateway serves '${SWARM_MODEL}'`, 'model_not_found', 'model')
  if (b.stream !== undefined && typeof b.stream !== 'boolean') throw badRequest('stream must be a boolean', 'stream')
  if (Array.isArray(b.tools) && b.tools.length > 0) throw badRequest('tools are not supported: a swarm answers in text', 'tools', 'unsupported_parameter')
  if (b.tool_choice !== undefined && b.tool_choice !== 'none' && b.tool_choice !== 'auto') throw badRequest('tool_choice must be none or auto: a swarm calls no tools', 'tool_choice', 'unsupported_parameter')
  const format = (b.text as { format?: { type?: unknown } } | undefined)?.format?.type
  if (format !== undefined && format !== 'text') throw badRequest('text.format must be text: a swarm answers in text', 'text.format', 'unsupported_parameter')
  const messages: ChatMessage[] = []
  if (b.instructions !== undefined && b.instructions !== null) {
    if (typeof b.instructions !== 'string') throw badRequest('instructions must be a string', 'instructions')
    messages.push({ role: 'system', content: b.instructions })
  }
  if (typeof b.input === 'string') messages.push({ role: 'user', content: b.input })
  else if (Array.isArray(b.input) && b.input.length > 0) b.input.forEach((item, i) => messages.push(inputItem(item, i)))
  else throw badRequest('input must be a string or a non-empty array of messages', 'input')
  if (messages.length > MAX_CHAT_MESSAGES) throw badRequest(`at most ${MAX_CHAT_MESSAGES} messages`, 'input')
  if (!messages.some((m) => m.role === 'user')) throw badRequest('input must include a user message', 'input')
  const sampling = samplingRequest(b, ['max_output_tokens'])
  return { model: b.model, messages, stream: b.stream === true, ...(sampling ? { sampling } : {}), ...chorusExtension(b.chorus) }
}

/** One input item: a message whose content is a string or text parts (`input_text`, `output_text`). */
function inputItem(item: unknown, i: number): ChatMessage {
  const param = `input[${i}]`
  if (typeof item !== 'object' || item === null) throw badRequest(`${param} must be a message`, param)
  const { type, role, content } = item as { type?: unknown; role?: unknown; content?: unknown }
  if (type !== undefined && type !== 'message') throw badRequest(`${param}: only message items are supported (not ${String(type)})`, `${param}.type`, 'unsupported_parameter')
  const text = Array.isArray(content)
    ? content.map((p, j) => {
        const part = p as { type?: unknown; text?: unknown }
        if ((part?.type !== 'input_text' && part?.type !== 'output_text') || typeof part.text !== 'string') throw badRequest(`${param}.content[${j}] must be an input_text part`, `${param}.content[${j}]`)
        return part.text
      })
    : content
  return message({ role, content: Array.isArray(text) ? text.join('') : text }, i)
}

/** The Response object of a finished round. */
export function responseObject(r: RoundResult, roundMs: number, origin: string, createdAt: number) {
  const text = r.outcome.answer
  return {
    id: `resp_${r.roundId.slice(0, 32)}`,
    object: 'response' as const,
    created_at: createdAt,
    completed_at: Math.floor(Date.now() / 1000),
    status: 'completed' as const,
    model: SWARM_MODEL,
    output: [outputMessage(r.roundId, text, 'completed')],
    output_text: text,
    error: null,
    incomplete_details: null,
    instructions: null,
    metadata: {},
    parallel_tool_calls: false,
    temperature: null,
    top_p: null,
    tool_choice: 'none' as const,
    tools: [],
    usage: {
      input_tokens: r.usage.prompt,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: r.usage.completion,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: r.usage.prompt + r.usage.completion,
    },
    chorus: provenance(r, roundMs, origin),
  }
}

function outputMessage(roundId: string, text: string, status: 'in_progress' | 'completed') {
  return { id: messageId(roundId), type: 'message' as const, role: 'assistant' as const, status, content: status === 'completed' ? [outputText(text)] : [] }
}

const messageId = (roundId: string) => `msg_${roundId.slice(0, 32)}`
const outputText = (text: string) => ({ type: 'output_text' as const, text, annotations: [], logprobs: [] })

/**
 * The events of a streamed response once its round is decided, in the order the Responses API
 * sends them: the output item and its text part open, the text in pieces, then everything closes
 * and `response.completed` carries the whole Response (with `chorus`). `created` and `in_progress`
 * go out before the round (`openingEvents`); the phase comments between them stay SSE comments.
 */
export function answerEvents(id: string, r: RoundResult, roundMs: number, origin: string, createdAt: number, piece: number): object[] {
  const done = { ...responseObject(r, roundMs, origin, createdAt), id }
  const text = done.output_text
  const item_id = messageId(r.roundId)
  const at = { output_index: 0, content_index: 0, item_id }
  const deltas: object[] = []
  for (let i = 0; i < text.length; i += piece) deltas.push({ type: 'response.output_text.delta', ...at, delta: text.slice(i, i + piece), logprobs: [] })
  return [
    { type: 'response.output_item.added', output_index: 0, item: outputMessage(r.roundId, text, 'in_progress') },
    { type: 'response.content_part.added', ...at, part: outputText('') },
    ...deltas,
    { type: 'response.output_text.done', ...at, text, logprobs: [] },
    { type: 'response.content_part.done', ...at, part: outputText(text) },
    { type: 'response.output_item.done', output_index: 0, item: done.output[0] },
    { type: 'response.completed', response: done },
  ]
}

/** The two events that open a stream, before its round has an id: a Response in progress. */
export function openingEvents(id: string, createdAt: number): object[] {
  const response = { id, object: 'response', created_at: createdAt, status: 'in_progress', model: SWARM_MODEL, output: [], error: null, incomplete_details: null, instructions: null, metadata: {}, parallel_tool_calls: false, temperature: null, top_p: null, tool_choice: 'none', tools: [] }
  return [
    { type: 'response.created', response },
    { type: 'response.in_progress', response },
  ]
}
