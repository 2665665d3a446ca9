import { hash } from 'node:crypto'
import type { ChatMessage } from '../protocol/messages.js'
import type { CallOptions, JudgeReply, JudgeRequest, ModelBackend } from './backend.js'

/**
 * FOR TESTS AND BENCHMARKS ONLY: a backend with no model behind it. Its answer is one of a few
 * fixed strings picked by H(nodeId‖question), its verdict a pick from H(judgeId‖pair); both are
 * immediate and deterministic, and meaningless. It exists to measure the protocol without models.
 */
export class InstantBackend implements ModelBackend {
  readonly name = 'instant (test backend: meaningless answers)'

  constructor(
    private readonly nodeId: string,
    private readonly distinctAnswers = 3,
  ) {}

  /** Reports a word as a token, so metering has something to count. */
  async answer(messages: readonly ChatMessage[], options: CallOptions = {}): Promise<string> {
    const question = messages.at(-1)?.content ?? ''
    const text = `instant answer ${pick(`${this.nodeId}\n${question}`, this.distinctAnswers)}`
    options.onUsage?.({ prompt: words(messages.map((m) => m.content).join(' ')), completion: words(text) })
    return text
  }

  async judge(req: JudgeRequest, options: CallOptions = {}): Promise<JudgeReply> {
    options.onUsage?.({ prompt: words(`${req.question} ${req.first} ${req.second}`), completion: 1 })
    const r = pick(`${this.nodeId}\n${req.first}\n${req.second}`, 10_000) / 10_000
    return r < 0.45
      ? { verdict: 'A', pFirst: 0.5 + r }
      : r < 0.9
        ? { verdict: 'B', pFirst: r - 0.45 }
        : { verdict: 'T', pFirst: 0.5 }
  }
}

const words = (s: string) => s.split(/\s+/).filter(Boolean).length

function pick(s: string, n: number): number {
  return hash('sha256', s, 'buffer').readUInt32BE(0) % n
}
