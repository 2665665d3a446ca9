import { MAX_SAMPLED_TOKENS, MAX_STOP_CHARS, MAX_STOPS } from '../protocol/limits.js'
import type { QueryBody } from '../protocol/messages.js'
import { badRequest } from './apiError.js'

export type SignedSampling = NonNullable<QueryBody['sampling']>

/**
 * The sampling fields of an API request, checked and turned into the Query's signed form (integers
 * only: temperature and top_p in thousandths), so that every member's backend samples its answer as
 * the client asked. Fields a swarm's backends cannot honour are refused with the parameter named
 * rather than dropped in silence. `maxTokensField` is what the API calls the limit.
 */
export function samplingRequest(b: Record<string, unknown>, maxTokensFields: readonly string[]): SignedSampling | undefined {
  const s: SignedSampling = {}
  if (b.temperature !== undefined && b.temperature !== null) {
    if (typeof b.temperature !== 'number' || !(b.temperature >= 0 && b.temperature <= 2)) throw badRequest('temperature must be a number from 0 to 2', 'temperature')
    s.temperatureMilli = Math.round(b.temperature * 1_000)
  }
  if (b.top_p !== undefined && b.top_p !== null) {
    if (typeof b.top_p !== 'number' || !(b.top_p > 0 && b.top_p <= 1)) throw badRequest('top_p must be a number above 0 and at most 1', 'top_p')
    s.topPMilli = Math.max(1, Math.round(b.top_p * 1_000))
  }
  for (const field of maxTokensFields) {
    const v = b[field]
    if (v === undefined || v === null) continue
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > MAX_SAMPLED_TOKENS) throw badRequest(`${field} must be a whole number from 1 to ${MAX_SAMPLED_TOKENS}`, field)
    if (s.maxTokens !== undefined && s.maxTokens !== v) throw badRequest(`give ${maxTokensFields.join(' or ')}, not two different limits`, field)
    s.maxTokens = v as number
  }
  if (b.seed !== undefined && b.seed !== null) {
    if (!Number.isInteger(b.seed) || (b.seed as number) < 0 || (b.seed as number) > 2_147_483_647) throw badRequest('seed must be a whole number from 0 to 2147483647', 'seed')
    s.seed = b.seed as number
  }
  if (b.stop !== undefined && b.stop !== null) {
    const stops = typeof b.stop === 'string' ? [b.stop] : b.stop
    if (!Array.isArray(stops) || stops.length > MAX_STOPS || !stops.every((x) => typeof x === 'string' && x.length > 0 && x.length <= MAX_STOP_CHARS)) {
      throw badRequest(`stop must be a string or at most ${MAX_STOPS} strings of 1 to ${MAX_STOP_CHARS} characters`, 'stop')
    }
    if (stops.length > 0) s.stop = stops as string[]
  }
  for (const penalty of ['presence_penalty', 'frequency_penalty']) {
    const v = b[penalty]
    if (v !== undefined && v !== null && v !== 0) throw badRequest(`${penalty} is not supported: a swarm's backends do not all honour it (leave it 0)`, penalty, 'unsupported_parameter')
  }
  if (b.logit_bias !== undefined && b.logit_bias !== null && (typeof b.logit_bias !== 'object' || Object.keys(b.logit_bias).length > 0)) {
    throw badRequest("logit_bias is not supported: the swarm's members run different models with different tokenizers", 'logit_bias', 'unsupported_parameter')
  }
  const format = (b.response_format as { type?: unknown } | undefined)?.type
  if (format !== undefined && format !== 'text') throw badRequest('response_format must be text: a swarm answers in text', 'response_format', 'unsupported_parameter')
  return Object.keys(s).length === 0 ? undefined : s
}
