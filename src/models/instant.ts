import { hash } from 'node:crypto'
import type { ChatMessage } from '../protocol/messages.js'
import type { JudgeReply, JudgeRequest, ModelBackend } from './backend.js'

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

  async answer(messages: readonly ChatMessage[]): Promise<string> {
    const question = messages.at(-1)?.content ?? ''
    return `instant answer ${pick(`${this.nodeId}\n${question}`, this.distinctAnswers)}`
  }

  async judge(req: JudgeRequest): Promise<JudgeReply> {
    const r = pick(`${this.nodeId}\n${req.first}\n${req.second}`, 10_000) / 10_000
    return r < 0.45
      ? { verdict: 'A', pFirst: 0.5 + r }
      : r < 0.9
        ? { verdict: 'B', pFirst: r - 0.45 }
        : { verdict: 'T', pFirst: 0.5 }
  }
}

function pick(s: string, n: number): number {
  return hash('sha256', s, 'buffer').readUInt32BE(0) % n
}
