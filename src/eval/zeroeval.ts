import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { type AnswerSpec, finalAnswer, inferAnswerType } from '../consensus/answerTypes.js'

/**
 * Recorded answers of real models, with gold answers: what `chorus eval` replays. ZeroEval result
 * folders (one JSON list per model, gzipped or not, Apache-2.0) load by task name; any other set
 * loads from the generic JSON-lines format (recordedFile.ts). Each question carries the answer spec
 * its replies are read by — the benchmark's declared type, or one inferred from its gold answers —
 * and the same spec goes into every round's Query, so scoring and grouping read replies alike.
 */
export interface RecordedQuestion {
  id: string
  question: string
  gold: string
  spec: AnswerSpec
  /** One per model, in `models` order; `answer` undefined when the reply states none. */
  replies: { model: string; raw: string; answer: string | undefined }[]
}

export interface RecordedTask {
  /** The task's name in reports (`gsm`, `crux`, a file's name). */
  task: string
  models: string[]
  questions: RecordedQuestion[]
}

export class DataError extends Error {
  readonly code = 'DATA'
}

/**
 * ZeroEval tasks whose answer type is known: the rest are inferred from their golds. Their chat
 * models were asked for one JSON object, so the last stated answer counts.
 */
const ZEROEVAL_TYPES: Record<string, AnswerSpec['type']> = { gsm: 'number', 'math-l5': 'number', crux: 'literal', 'mmlu-redux': 'choice' }

/** `task`: a folder under `<dataDir>/zeroeval/` (gsm, math-l5, or any other ZeroEval task's results). */
export async function loadZeroEval(dataDir: string, task: string): Promise<RecordedTask> {
  if (!/^[\w.-]+$/.test(task)) throw new DataError(`"${task}" is not a ZeroEval task name (letters, digits, . _ -)`)
  const dir = join(dataDir, 'zeroeval', task)
  let files: string[]
  try {
    files = (await readdir(dir)).filter((f) => /\.json(\.gz)?$/.test(f)).sort()
  } catch {
    throw new DataError(`no ZeroEval data at ${dir} (pass the data folder, e.g. ../shared/data, with a zeroeval/${task}/ folder of result files)`)
  }
  if (files.length === 0) throw new DataError(`no .json or .json.gz result files in ${dir}`)
  const models = files.map((f) => f.replace(/\.json(\.gz)?$/, ''))
  const byId = new Map<string, { id: string; question: string; gold: string; raws: string[] }>()
  for (const [m, f] of files.entries()) {
    let records: Record<string, unknown>[]
    try {
      const bytes = await readFile(join(dir, f))
      records = JSON.parse((f.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8')) as Record<string, unknown>[]
      if (!Array.isArray(records)) throw new Error('not a list')
    } catch (err) {
      throw new DataError(`${join(dir, f)} is not a JSON list of results: ${(err as Error).message}`)
    }
    for (const r of records) {
      const id = String(r.id)
      let q = byId.get(id)
      if (q === undefined) {
        q = { id, ...questionAndGold(r), raws: [] }
        byId.set(id, q)
      }
      q.raws[m] = String((r.output as unknown[] | undefined)?.[0] ?? '')
    }
  }
  // Questions every model answered, so each swarm has the same members.
  const complete = [...byId.values()].filter((q) => models.every((_, m) => q.raws[m] !== undefined))
  const spec: AnswerSpec = { type: ZEROEVAL_TYPES[task] ?? inferAnswerType(complete.map((q) => q.gold)), marker: 'last' }
  return {
    task,
    models,
    questions: complete.map((q) => ({
      id: q.id,
      question: q.question,
      gold: q.gold,
      spec,
      replies: q.raws.map((raw, m) => ({ model: models[m]!, raw, answer: finalAnswer(raw, spec) })),
    })),
  }
}

/**
 * A record's question and gold as the round and the score read them. GSM8K writes its gold as
 * "# 18"; multiple-choice tasks (MMLU-Redux) list `choices` and give the right one's text as
 * `correct_answer`: the question then shows the lettered choices, and the gold is the letter.
 */
function questionAndGold(r: Record<string, unknown>): { question: string; gold: string } {
  const question = String(r.question ?? r.problem ?? '')
  const choices = r.choices
  if (Array.isArray(choices) && choices.length > 0 && choices.length <= 26 && choices.every((c) => typeof c === 'string')) {
    const letter = (i: number) => String.fromCharCode(65 + i)
    const listed = choices.map((c, i) => `(${letter(i)}) ${c}`).join('\n')
    const right = choices.indexOf(String(r.correct_answer ?? r.answer ?? ''))
    const gold = right >= 0 ? letter(right) : String(r.answer ?? r.correct_answer ?? '')
    return { question: `${question}\n\n${listed}`, gold }
  }
  return { question, gold: String(r.answer ?? r.correct_answer ?? '').replace(/^#+\s*/, '') }
}
