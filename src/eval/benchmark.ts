import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { ANSWER_TYPES, type AnswerSpec, type AnswerType, inferAnswerType, type MarkerPolicy } from '../consensus/answerTypes.js'
import { DataError } from './zeroeval.js'

/**
 * A question set with gold answers for live runs: JSON lines with the question in `question` or
 * `problem` and the gold in `answer` (GSM8K's "…#### 18" is reduced to its final number), as in
 * MATH-500, AIME and GSM8K; optionally `answer_type` and `marker` (consensus/answerTypes.ts), else
 * the type the golds call for.
 */
export interface BenchmarkQuestion {
  id: string
  question: string
  gold: string
  /** How replies are read, for the score and in the round's Query alike (consensus/answerTypes.ts). */
  spec: AnswerSpec
}

export interface Benchmark {
  name: string
  questions: BenchmarkQuestion[]
}

export async function loadBenchmark(path: string): Promise<Benchmark> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new DataError(`cannot read the benchmark ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  const lines: (Omit<BenchmarkQuestion, 'spec'> & { type?: Exclude<AnswerType, 'auto'>; marker: MarkerPolicy })[] = []
  const seen = new Set<string>()
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue
    let r: Record<string, unknown>
    try {
      r = JSON.parse(line) as Record<string, unknown>
    } catch {
      throw new DataError(`${path}:${i + 1} is not JSON`)
    }
    const question = r.question ?? r.problem
    const answer = r.answer
    if (typeof question !== 'string' || question.trim() === '') throw new DataError(`${path}:${i + 1} has no "question" or "problem" text`)
    if (typeof answer !== 'string' && typeof answer !== 'number') throw new DataError(`${path}:${i + 1} has no "answer"`)
    const id = String(r.id ?? r.unique_id ?? i + 1)
    if (seen.has(id)) throw new DataError(`${path}:${i + 1} repeats the id ${id}`)
    seen.add(id)
    const type = r.answer_type
    if (type !== undefined && !(typeof type === 'string' && type !== 'auto' && (ANSWER_TYPES as readonly string[]).includes(type))) throw new DataError(`${path}:${i + 1}: answer_type must be one of number, choice, literal, short, free`)
    const marker = r.marker ?? 'last'
    if (marker !== 'first' && marker !== 'last') throw new DataError(`${path}:${i + 1}: marker must be first or last`)
    lines.push({ id, question, gold: goldAnswer(String(answer)), marker, ...(type === undefined ? {} : { type: type as Exclude<AnswerType, 'auto'> }) })
  }
  if (lines.length === 0) throw new DataError(`${path} holds no questions`)
  // A set that declares no answer type gets the one its gold answers call for.
  const inferred = inferAnswerType(lines.filter((l) => l.type === undefined).map((l) => l.gold))
  const questions = lines.map(({ type, marker, ...q }) => ({ ...q, spec: { type: type ?? inferred, marker } }))
  return { name: basename(path).replace(/\.jsonl$/, ''), questions }
}

/** GSM8K writes its solution with the final number after "####". */
function goldAnswer(answer: string): string {
  const marker = answer.lastIndexOf('####')
  return marker >= 0 ? answer.slice(marker + 4).trim().replace(/,/g, '') : answer.trim()
}
