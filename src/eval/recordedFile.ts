import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { ANSWER_TYPES, type AnswerSpec, type AnswerType, finalAnswer, inferAnswerType, type MarkerPolicy } from '../consensus/answerTypes.js'
import { DataError, loadZeroEval, type RecordedQuestion, type RecordedTask } from './zeroeval.js'

/**
 * Recorded replies of any benchmark, one question per JSON line (`chorus eval --task replay --file F`):
 *
 *   {"id": "q1", "question": "…", "gold": "…", "answer_type": "literal", "marker": "last",
 *    "replies": [{"model": "m1", "text": "…"}, {"model": "m2", "text": "…"}]}
 *
 * `answer_type` (number, choice, literal, short, free) and `marker` (first, last) are optional: a
 * line without a type takes the one its file's gold answers call for (inferAnswerType), and the last
 * stated answer counts unless `marker` says first (few-shot base models, which go on to write
 * questions of their own). Questions some model did not reply to are left out, so every round has
 * the same members.
 */
export async function loadRecordedFile(path: string): Promise<RecordedTask> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new DataError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  return parseRecordedLines(text, basename(path).replace(/\.jsonl$/, ''), path)
}

interface Line {
  id: string
  question: string
  gold: string
  type: Exclude<AnswerType, 'auto'> | undefined
  marker: MarkerPolicy
  replies: Map<string, string>
}

export function parseRecordedLines(text: string, task: string, where = task): RecordedTask {
  const lines: Line[] = []
  const models: string[] = []
  const ids = new Set<string>()
  for (const [i, raw] of text.split('\n').entries()) {
    if (raw.trim() === '') continue
    const at = `${where}:${i + 1}`
    let r: Record<string, unknown>
    try {
      r = JSON.parse(raw) as Record<string, unknown>
    } catch {
      throw new DataError(`${at} is not JSON`)
    }
    const id = String(r.id ?? '')
    if (id === '') throw new DataError(`${at} has no "id"`)
    if (ids.has(id)) throw new DataError(`${at} repeats the id ${id}`)
    ids.add(id)
    if (typeof r.question !== 'string') throw new DataError(`${at} has no "question" text`)
    if (typeof r.gold !== 'string') throw new DataError(`${at} has no "gold" answer (a string; a value is written as Python writes it, e.g. "[1, 2]")`)
    const type = r.answer_type
    if (type !== undefined && (typeof type !== 'string' || type === 'auto' || !(ANSWER_TYPES as readonly string[]).includes(type))) {
      throw new DataError(`${at}: answer_type must be one of number, choice, literal, short, free`)
    }
    const marker = r.marker ?? 'last'
    if (marker !== 'first' && marker !== 'last') throw new DataError(`${at}: marker must be first or last`)
    if (!Array.isArray(r.replies) || r.replies.length === 0) throw new DataError(`${at} has no "replies" ([{model, text}, …])`)
    const replies = new Map<string, string>()
    for (const rep of r.replies as unknown[]) {
      const { model, text: reply } = (rep ?? {}) as { model?: unknown; text?: unknown }
      if (typeof model !== 'string' || model === '' || typeof reply !== 'string') throw new DataError(`${at}: each reply is {"model": "…", "text": "…"}`)
      if (replies.has(model)) throw new DataError(`${at}: ${model} replies twice`)
      replies.set(model, reply)
      if (!models.includes(model)) models.push(model)
    }
    lines.push({ id, question: r.question, gold: r.gold, type: type as Line['type'], marker, replies })
  }
  if (lines.length === 0) throw new DataError(`${where} holds no questions`)
  const inferred = inferAnswerType(lines.filter((l) => l.type === undefined).map((l) => l.gold))
  const questions: RecordedQuestion[] = lines
    .filter((l) => models.every((m) => l.replies.has(m)))
    .map((l) => {
      const spec: AnswerSpec = { type: l.type ?? inferred, marker: l.marker }
      return {
        id: l.id,
        question: l.question,
        gold: l.gold,
        spec,
        replies: models.map((model) => {
          const raw = l.replies.get(model)!
          return { model, raw, answer: finalAnswer(raw, spec) }
        }),
      }
    })
  if (questions.length === 0) throw new DataError(`${where}: no question has a reply from every model (${models.join(', ')})`)
  return { task, models, questions }
}

/** The same task as JSON lines (the converter from any loaded set, e.g. a ZeroEval folder). */
export function recordedLines(task: RecordedTask): string {
  return task.questions
    .map((q) =>
      JSON.stringify({
        id: q.id,
        question: q.question,
        gold: q.gold,
        ...(q.spec.type === 'auto' ? {} : { answer_type: q.spec.type }),
        marker: q.spec.marker,
        replies: q.replies.map((r) => ({ model: r.model, text: r.raw })),
      }),
    )
    .join('\n')
    .concat('\n')
}

/** Whether `--task` names recorded replies (and not prd or live). */
export function isRecordedTask(task: string): boolean {
  return task === 'gsm' || task === 'math-l5' || task === 'replay' || task.startsWith('zeroeval:')
}

/**
 * The recorded replies `--task` names: gsm and math-l5 (ZeroEval's, in the data folder),
 * `zeroeval:<name>` (any ZeroEval task folder there), or `replay` with `file` (JSON lines, above).
 */
export async function loadRecordedTask(task: string, dataDir: string, file?: string): Promise<RecordedTask> {
  if (task === 'replay') {
    if (file === undefined) throw new DataError('--task replay reads recorded replies from --file FILE (JSON lines: id, question, gold, answer_type, replies)')
    return loadRecordedFile(file)
  }
  if (file !== undefined) throw new DataError('--file goes with --task replay')
  if (task.startsWith('zeroeval:')) return loadZeroEval(dataDir, task.slice('zeroeval:'.length))
  if (task === 'gsm' || task === 'math-l5') return loadZeroEval(dataDir, task)
  throw new DataError(`no recorded task ${task}: gsm, math-l5, zeroeval:<task folder> or replay --file FILE`)
}
