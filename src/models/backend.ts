import type { ChatMessage, TokenCount } from '../protocol/messages.js'

/**
 * A node's mind: it answers a query and compares two answers. Implementations: in-process GGUF,
 * any OpenAI-compatible server, and (tests and benchmarks only) the InstantBackend.
 */
export interface JudgeRequest {
  /** The question both answers respond to. */
  question: string
  first: string
  second: string
}

export interface JudgeReply {
  /** A: first better, B: second better, T: tie, U: abstained (unparseable or refused). */
  verdict: 'A' | 'B' | 'T' | 'U'
  /** P(first better) in [0, 1], where the model gives one. */
  pFirst?: number
}

/** Tokens a backend has used since it was made, as its server reports them (or it counts them). */
export interface TokenUsage {
  promptTokens: number
  completionTokens: number
  /** Calls whose tokens were reported; fewer than the calls made when a server does not say. */
  reported: number
  calls: number
}

export function emptyUsage(): TokenUsage {
  return { promptTokens: 0, completionTokens: 0, reported: 0, calls: 0 }
}

export interface CallOptions {
  signal?: AbortSignal
  /** Told the call's tokens when the backend knows them (a member reports them in its reveal). */
  onUsage?: (usage: TokenCount) => void
  /** How to sample an answer, as the round's Query asks (unset fields: the backend's own settings). */
  sampling?: Sampling
}

/** Sampling a client asked for (the Query's `sampling`, back in the units backends take). */
export interface Sampling {
  temperature?: number
  topP?: number
  maxTokens?: number
  seed?: number
  stop?: string[]
}

/** The Query's signed sampling fields as a backend takes them. */
export function samplingOf(q: { sampling?: { temperatureMilli?: number; topPMilli?: number; maxTokens?: number; seed?: number; stop?: string[] } }): Sampling | undefined {
  const s = q.sampling
  if (s === undefined) return undefined
  return {
    ...(s.temperatureMilli === undefined ? {} : { temperature: s.temperatureMilli / 1_000 }),
    ...(s.topPMilli === undefined ? {} : { topP: s.topPMilli / 1_000 }),
    ...(s.maxTokens === undefined ? {} : { maxTokens: s.maxTokens }),
    ...(s.seed === undefined ? {} : { seed: s.seed }),
    ...(s.stop === undefined ? {} : { stop: s.stop }),
  }
}

export interface ModelBackend {
  readonly name: string
  /** Running token counts, where the backend can know them (evaluation reports tokens per question). */
  readonly usage?: TokenUsage
  /** Fails with a clear error if the model cannot serve (server down, model missing). */
  check?(options?: CallOptions): Promise<void>
  answer(messages: readonly ChatMessage[], options?: CallOptions): Promise<string>
  judge(request: JudgeRequest, options?: CallOptions): Promise<JudgeReply>
}
