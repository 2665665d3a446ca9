import { type AnswerSpec, groupKey } from '../../consensus/answerTypes.js'
import type { ChatMessage } from '../../protocol/messages.js'
import { checkArithmetic, evidenceFavours, finalNumber, mathsEvidence } from './mathsChecker.js'

/**
 * What a node may run around its model (the reference's optional pre- and post-processors): a
 * pre-processor transforms the query before the model sees it; a post-processor checks or refines
 * the model's answer (it may ask the model once more); a judge tool examines the two answers of a
 * pair and may decide the verdict from its evidence, which the verdict then carries, signed, as
 * integers. Tools see only what the round gives the node: a judge's pair never holds its own answer.
 */
export interface NodeTools {
  readonly name: string
  pre?(messages: readonly ChatMessage[]): ChatMessage[]
  post?(answer: string, messages: readonly ChatMessage[], ask: (messages: ChatMessage[]) => Promise<string>): Promise<string>
  judge?(pair: { question: string; first: string; second: string; spec: AnswerSpec }): JudgeEvidence
}

export interface JudgeEvidence {
  /** The verdict the evidence decides, if it does (the model is then not asked). */
  favours?: 'A' | 'B'
  /** What the tool found, as integers for the signed verdict (at most MAX_EVIDENCE, each in [-1, 10⁶]). */
  evidence: number[]
}

/**
 * The maths checker as a node's tools: an answerer re-asks its model once when its own chain states
 * a wrong computation (and keeps the revision only if it checks better); a judge prefers, of two
 * different final answers, the one whose stated arithmetic holds. Its evidence per verdict:
 * [claims checked, claims wrong, follows (1, 0, -1 unknown)] for the first answer, then the second.
 */
export function mathsTools(): NodeTools {
  return {
    name: 'maths',
    async post(answer, messages, ask) {
      const check = checkArithmetic(answer)
      if (check.failed.length === 0) return answer
      const errors = check.failed.slice(0, 5).map((c) => `"${c.text}": the left side gives ${round(c.computed)}, not ${round(c.stated)}`)
      const revised = await ask([
        ...messages,
        { role: 'assistant', content: answer },
        { role: 'user', content: `A check of the arithmetic in your answer found ${check.failed.length === 1 ? 'an error' : 'errors'}:\n${errors.join('\n')}\nCorrect the working and give your whole answer again, ending with the final answer.` },
      ]).catch(() => answer)
      return checkArithmetic(revised).failed.length < check.failed.length ? revised : answer
    },
    judge({ first, second, spec }) {
      const a = mathsEvidence(first, finalNumber(first, spec))
      const b = mathsEvidence(second, finalNumber(second, spec))
      // Two chains that reach the same final answer are one answer to the round: the evidence
      // separates only different ones (else one slip would sink a whole group's mean strength).
      const favours = groupKey(first, spec) === groupKey(second, spec) ? undefined : evidenceFavours(a, b)
      return { ...(favours === undefined ? {} : { favours }), evidence: [a.checked, a.failed, a.follows, b.checked, b.failed, b.follows] }
    },
  }
}

const round = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(4).replace(/0+$/, ''))

/** The tools a node is started with (`--tools maths`); unknown names are refused by the CLI. */
export const NODE_TOOLS: Record<string, () => NodeTools> = { maths: mathsTools }
