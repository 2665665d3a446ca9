import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { extractAnswer } from '../consensus/answers.js'

/**
 * Recorded answers of real small models (ZeroEval result files: one gzipped JSON list per model,
 * Apache-2.0). Each question gets every model's raw reply, its extracted final answer, and the gold.
 */
export type ZeroEvalTask = 'gsm' | 'math-l5'

export interface RecordedQuestion {
  id: string
  question: string
  gold: string
  /** One per model, in `models` order; `answer` undefined when none could be extracted. */
  replies: { model: string; raw: string; answer: string | undefined }[]
}

export interface RecordedTask {
  task: ZeroEvalTask
  models: string[]
  questions: RecordedQuestion[]
}

export class DataError extends Error {
  readonly code = 'DATA'
}

export async function loadZeroEval(dataDir: string, task: ZeroEvalTask): Promise<RecordedTask> {
  const dir = join(dataDir, 'zeroeval', task)
  let files: string[]
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.json.gz')).sort()
  } catch {
    throw new DataError(`no ZeroEval data at ${dir} (pass the data folder, e.g. ../shared/data)`)
  }
  if (files.length === 0) throw new DataError(`no .json.gz files in ${dir}`)
  const models = files.map((f) => f.replace(/\.json\.gz$/, ''))
  const byId = new Map<string, RecordedQuestion>()
  for (const [m, f] of files.entries()) {
    let records: Record<string, unknown>[]
    try {
      records = JSON.parse(gunzipSync(await readFile(join(dir, f))).toString('utf8')) as Record<string, unknown>[]
    } catch (err) {
      throw new DataError(`${join(dir, f)} is not a gzipped JSON list: ${(err as Error).message}`)
    }
    for (const r of records) {
      const id = String(r.id)
      let q = byId.get(id)
      if (q === undefined) {
        const gold = String(r.answer ?? '')
        q = { id, question: String(r.question ?? r.problem ?? ''), gold: task === 'gsm' ? gold.replace(/^#+\s*/, '') : gold, replies: [] }
        byId.set(id, q)
      }
      const raw = String((r.output as unknown[] | undefined)?.[0] ?? '')
      q.replies[m] = { model: models[m]!, raw, answer: extractAnswer(raw) }
    }
  }
  // Questions every model answered, so each swarm has the same members.
  const questions = [...byId.values()].filter((q) => models.every((_, m) => q.replies[m] !== undefined))
  return { task, models, questions }
}
