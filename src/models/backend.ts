import type { ChatMessage } from '../protocol/messages.js'

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

export interface CallOptions {
  signal?: AbortSignal
}

export interface ModelBackend {
  readonly name: string
  /** Fails with a clear error if the model cannot serve (server down, model missing). */
  check?(options?: CallOptions): Promise<void>
  answer(messages: readonly ChatMessage[], options?: CallOptions): Promise<string>
  judge(request: JudgeRequest, options?: CallOptions): Promise<JudgeReply>
}
