import { availableParallelism } from 'node:os'
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp'
import type { ChatMessage } from '../protocol/messages.js'
import type { CallOptions, JudgeReply, JudgeRequest, ModelBackend, TokenUsage } from './backend.js'
import { JUDGE_SYSTEM, judgeCompletionPrompt, judgeUserPrompt, parseVerdict, verdictFromProbability } from './judgePrompt.js'
import { Semaphore } from './semaphore.js'

/**
 * A GGUF model run in-process by llama.cpp (node-llama-cpp, CPU). Each model gets one context with
 * one thread, and all models in the process share one semaphore with as many permits as cores, so
 * the threads running together never exceed the cores. A model's one context sequence serves one
 * call at a time (its own lock, taken before a shared permit so a waiting call holds no core).
 *
 * Judging reads the next-token probabilities of "A" and "B" after the prompt (`probabilities`), or
 * lets the model write one grammar-constrained letter (`constrained`).
 */
export class ModelLoadError extends Error {
  readonly code = 'MODEL_LOAD'
}

const LOAD_TIMEOUT_MS = 120_000

/**
 * Refuses a file that is not GGUF before llama.cpp sees it (its reader can hang on garbage): the
 * magic, a known version, and tensor / metadata counts that could fit in the file.
 */
async function checkGgufHeader(path: string): Promise<void> {
  const { open } = await import('node:fs/promises')
  const fh = await open(path, 'r')
  try {
    const { size } = await fh.stat()
    const head = Buffer.alloc(24)
    const { bytesRead } = await fh.read(head, 0, 24, 0)
    if (bytesRead < 24 || head.toString('latin1', 0, 4) !== 'GGUF') throw new Error('not a GGUF file (bad magic)')
    const version = head.readUInt32LE(4)
    if (version < 2 || version > 3) throw new Error(`unsupported GGUF version ${version}`)
    const tensors = head.readBigUInt64LE(8)
    const kvs = head.readBigUInt64LE(16)
    if (tensors > BigInt(size) || kvs > BigInt(size)) throw new Error('corrupt GGUF header (counts exceed the file)')
  } finally {
    await fh.close()
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms)
    timer.unref()
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

/** One per process: the llama.cpp binding and the semaphore every in-process model shares. */
export interface LlamaRuntime {
  llama: Llama
  semaphore: Semaphore
}

export async function createLlamaRuntime(permits = availableParallelism()): Promise<LlamaRuntime> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp')
  // Prebuilt CPU binaries only: never try to download or compile llama.cpp at run time (offline).
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, build: 'never' })
  return { llama, semaphore: new Semaphore(Math.max(1, permits)) }
}

export interface LlamaCppOptions {
  modelPath: string
  name?: string
  contextSize?: number
  maxAnswerTokens?: number
  judgeMode?: 'probabilities' | 'constrained'
  temperature?: number
}

export class LlamaCppBackend implements ModelBackend {
  readonly name: string
  private constructor(
    private readonly runtime: LlamaRuntime,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly sequence: LlamaContextSequence,
    private readonly options: LlamaCppOptions,
  ) {
    this.name = options.name ?? `gguf:${options.modelPath.split('/').pop()}`
  }

  private calls = 0
  /** The context sequence holds one prompt's state: calls on this model take turns. */
  private readonly lock = new Semaphore(1)

  /**
   * Runs `fn` with this model's sequence to itself and a core from the shared semaphore. The
   * sequence's token meter moves only inside, so its change is exactly this call's tokens.
   */
  private exclusive<T>(fn: () => Promise<T>, options: CallOptions): Promise<T> {
    return this.lock.run(
      () =>
        this.runtime.semaphore.run(async () => {
          const meter = this.sequence.tokenMeter
          const [input, output] = [meter.usedInputTokens, meter.usedOutputTokens]
          try {
            return await fn()
          } finally {
            options.onUsage?.({ prompt: meter.usedInputTokens - input, completion: meter.usedOutputTokens - output })
          }
        }, options.signal),
      options.signal,
    )
  }

  /** Exact counts from llama.cpp's token meter: every token evaluated (input) and generated (output). */
  get usage(): TokenUsage {
    const meter = this.sequence.tokenMeter
    return { promptTokens: meter.usedInputTokens, completionTokens: meter.usedOutputTokens, reported: this.calls, calls: this.calls }
  }

  static async load(runtime: LlamaRuntime, options: LlamaCppOptions): Promise<LlamaCppBackend> {
    let model: LlamaModel
    try {
      await checkGgufHeader(options.modelPath)
      model = await withTimeout(runtime.llama.loadModel({ modelPath: options.modelPath }), LOAD_TIMEOUT_MS, 'loading took too long')
    } catch (err) {
      throw new ModelLoadError(`cannot load GGUF model ${options.modelPath}: ${(err as Error).message}`)
    }
    const context = await model.createContext({ contextSize: options.contextSize ?? 2048, threads: 1, sequences: 1 })
    return new LlamaCppBackend(runtime, model, context, context.getSequence(), options)
  }

  async answer(messages: readonly ChatMessage[], options: CallOptions = {}): Promise<string> {
    this.calls++
    return this.exclusive(async () => {
      const { LlamaChatSession } = await import('node-llama-cpp')
      await this.sequence.clearHistory()
      const system = messages.filter((m) => m.role === 'system').map((m) => m.content)
      const session = new LlamaChatSession({
        contextSequence: this.sequence,
        autoDisposeSequence: false,
        ...(system.length > 0 ? { systemPrompt: system.join('\n') } : {}),
      })
      try {
        const history = messages.filter((m) => m.role !== 'system')
        const last = history.at(-1)
        if (history.length > 1) {
          session.setChatHistory([
            ...(system.length > 0 ? [{ type: 'system' as const, text: system.join('\n') }] : []),
            ...history.slice(0, -1).map((m) => (m.role === 'user' ? { type: 'user' as const, text: m.content } : { type: 'model' as const, response: [m.content] })),
          ])
        }
        const s = options.sampling
        return await session.prompt(last?.content ?? '', {
          // A Query may ask for fewer tokens than this node allows, never more (a stranger's round must not hold its model longer).
          maxTokens: Math.min(s?.maxTokens ?? Number.POSITIVE_INFINITY, this.options.maxAnswerTokens ?? 256),
          temperature: s?.temperature ?? this.options.temperature ?? 0,
          ...(s?.topP === undefined ? {} : { topP: s.topP }),
          ...(s?.seed === undefined ? {} : { seed: s.seed }),
          ...(s?.stop === undefined ? {} : { customStopTriggers: s.stop }),
          signal: options.signal,
          stopOnAbortSignal: false,
        })
      } finally {
        session.dispose({ disposeSequence: false })
      }
    }, options)
  }

  async judge(req: JudgeRequest, options: CallOptions = {}): Promise<JudgeReply> {
    this.calls++
    return this.exclusive(
      () => ((this.options.judgeMode ?? 'probabilities') === 'probabilities' ? this.judgeByProbabilities(req) : this.judgeConstrained(req, options)),
      options,
    )
  }

  /** One forward pass: P(A) / (P(A) + P(B)) for the token where the two verdicts first differ. */
  private async judgeByProbabilities(req: JudgeRequest): Promise<JudgeReply> {
    const prompt = judgeCompletionPrompt(req.question, req.first, req.second)
    // The verdict tokens are what tokenizing prompt+" A" and prompt+" B" add past their common
    // prefix, not tokenize("A"): a tokenizer may fold the space into the letter, or (byte
    // vocabularies) spell the space as tokens of its own, which then belong to the prompt.
    const withA = this.model.tokenize(`${prompt} A`)
    const withB = this.model.tokenize(`${prompt} B`)
    let common = 0
    while (common < withA.length && common < withB.length && withA[common] === withB[common]) common++
    const a = withA[common]
    const b = withB[common]
    const input = this.fit(withA.slice(0, common))
    if (a === undefined || b === undefined || input.length === 0) return { verdict: 'U' }
    // Keep what the sequence already holds of this prompt (the judging instructions and question
    // always, the first answer when the previous pair began with it) and evaluate only the rest.
    // The last token is always evaluated afresh: its next-token probabilities are the verdict.
    await this.sequence.adaptStateToTokens(input.slice(0, -1), false)
    const rest = input.slice(this.sequence.nextTokenIndex)
    const evaluated = await this.sequence.controlledEvaluate([
      ...rest.slice(0, -1),
      [rest.at(-1)!, { generateNext: { probabilities: true } }],
    ])
    const probs = evaluated.at(-1)?.next?.probabilities
    const pa = probs?.get(a) ?? 0
    const pb = probs?.get(b) ?? 0
    if (!(pa + pb > 0)) return { verdict: 'U' }
    return verdictFromProbability(pa / (pa + pb))
  }

  /** The model writes at most three tokens, constrained by a grammar to a verdict. */
  private async judgeConstrained(req: JudgeRequest, options: CallOptions): Promise<JudgeReply> {
    const { LlamaCompletion } = await import('node-llama-cpp')
    // LlamaCompletion keeps the prompt start the sequence already holds, as judgeByProbabilities does.
    const grammar = await this.runtime.llama.createGrammar({ grammar: 'root ::= " "? ("A" | "B" | "T")' })
    const completion = new LlamaCompletion({ contextSequence: this.sequence })
    try {
      const text = await completion.generateCompletion(`${JUDGE_SYSTEM}\n\n${judgeUserPrompt(req.question, req.first, req.second)}\nVerdict:`, {
        grammar,
        maxTokens: 3,
        temperature: 0,
        signal: options.signal,
      })
      return parseVerdict(text)
    } finally {
      completion.dispose({ disposeSequence: false })
    }
  }

  /** Keeps the prompt inside the context, dropping from the front (the question stays at the end). */
  private fit(tokens: Token[]): Token[] {
    const room = this.context.contextSize - 8
    return tokens.length <= room ? tokens : tokens.slice(tokens.length - room)
  }

  async close(): Promise<void> {
    await this.context.dispose()
    await this.model.dispose()
  }
}
