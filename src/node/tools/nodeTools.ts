import { type AnswerSpec, groupKey } from '../../consensus/answerTypes.js'
import type { ChatMessage } from '../../protocol/messages.js'
import { availableParallelism } from 'node:os'
import { sha256Hex } from '../../crypto/hash.js'
import { Semaphore } from '../../models/semaphore.js'
import { type CodeRun, codeIn, type CodeRunLimits, DEFAULT_CODE_LIMITS, runJavaScript, SandboxUnavailableError, sandboxProblem, testsIn } from './codeRunner.js'
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
  judge?(pair: { question: string; first: string; second: string; spec: AnswerSpec }): JudgeEvidence | Promise<JudgeEvidence>
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

/**
 * The code runner as a judge's tool (off unless asked: `--tools code`): where the question gives
 * tests (a ```tests block), each answer's code runs against them in the sandbox (codeRunner.ts),
 * and the answer that passes more of them wins the pair. Evidence: [passed, tests, ran (1) or not
 * (0)] for the first answer, then the second. Refuses to start where the sandbox is unavailable.
 */
export function codeTools(limits: CodeRunLimits = DEFAULT_CODE_LIMITS): NodeTools {
  const problem = sandboxProblem()
  if (problem !== undefined) throw new SandboxUnavailableError(`the code runner needs its sandbox, and this machine has none: ${problem}`)
  // An answer meets a judge in several pairs: it runs once (the same code, the same tests), and
  // at most one run per core at a time, however many pairs a round hands the judge.
  const runs = new Map<string, Promise<CodeRun>>()
  const slots = new Semaphore(Math.max(1, availableParallelism()))
  const run = (code: string, tests: string[]) => {
    const key = sha256Hex(`${JSON.stringify(tests)}\n${code}`)
    let r = runs.get(key)
    if (r === undefined) {
      r = slots.run(() => runJavaScript(code, tests, limits))
      runs.set(key, r)
      if (runs.size > MAX_CACHED_RUNS) runs.delete(runs.keys().next().value as string)
    }
    return r
  }
  return {
    name: 'code',
    async judge({ question, first, second }) {
      const tests = testsIn(question)
      if (tests.length === 0) return { evidence: [] }
      const [a, b] = await Promise.all([run(codeIn(first), tests), run(codeIn(second), tests)])
      const favours = a.passed === b.passed ? undefined : a.passed > b.passed ? 'A' : 'B'
      const ran = (r: CodeRun) => (r.failure === undefined ? 1 : 0)
      return { ...(favours === undefined ? {} : { favours }), evidence: [a.passed, a.total, ran(a), b.passed, b.total, ran(b)] }
    },
  }
}

/** Runs a judge's code tool remembers (answers of the rounds in flight, at most). */
const MAX_CACHED_RUNS = 256

/**
 * Several tools as one: pre-processors in order, post-processors in order, and for judging the
 * first tool whose evidence decides (every tool's evidence is kept, concatenated in order).
 */
export function combineTools(tools: readonly NodeTools[]): NodeTools {
  if (tools.length === 1) return tools[0]!
  return {
    name: tools.map((t) => t.name).join(','),
    pre: (messages) => tools.reduce((m, t) => t.pre?.(m) ?? m, [...messages]),
    post: async (answer, messages, ask) => {
      let a = answer
      for (const t of tools) if (t.post) a = await t.post(a, messages, ask)
      return a
    },
    judge: async (pair) => {
      const found = await Promise.all(tools.map((t) => t.judge?.(pair)))
      const decided = found.find((f) => f?.favours !== undefined)?.favours
      return { ...(decided === undefined ? {} : { favours: decided }), evidence: found.flatMap((f) => f?.evidence ?? []) }
    },
  }
}

const round = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(4).replace(/0+$/, ''))

/** The tools a node is started with (`--tools maths,code`); unknown names are refused by the CLI. */
export const NODE_TOOLS: Record<string, () => NodeTools> = { maths: mathsTools, code: codeTools }
