import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { DataError } from './zeroeval.js'

/**
 * A question set with gold answers for live runs: JSON lines with the question in `question` or
 * `problem` and the gold in `answer` (GSM8K's "…#### 18" is reduced to its final number), as in
 * MATH-500, AIME and GSM8K.
 */
export interface BenchmarkQuestion {
  id: string
  question: string
  gold: string
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
  const questions: BenchmarkQuestion[] = []
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
    questions.push({ id, question, gold: goldAnswer(String(answer)) })
  }
  if (questions.length === 0) throw new DataError(`${path} holds no questions`)
  return { name: basename(path).replace(/\.jsonl$/, ''), questions }
}

/** GSM8K writes its solution with the final number after "####". */
function goldAnswer(answer: string): string {
  const marker = answer.lastIndexOf('####')
  return marker >= 0 ? answer.slice(marker + 4).trim().replace(/,/g, '') : answer.trim()
}
