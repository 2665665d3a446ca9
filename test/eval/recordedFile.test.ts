import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { evalCommand } from '../../src/cli/evalCommand.js'
import { loadRecordedTask, parseRecordedLines } from '../../src/eval/recordedFile.js'
import { isRight } from '../../src/consensus/answerTypes.js'
import { CRUX_RECORDS, MMLU_REDUX_RECORDS } from '../fixtures/zeroeval-crux.js'

/** A ZeroEval task folder the project never saw: CRUXEval replies (fixture), one plain JSON list per model. */
async function cruxFolder(root: string): Promise<void> {
  const dir = join(root, 'zeroeval', 'crux')
  await mkdir(dir, { recursive: true })
  const models = [...new Set(CRUX_RECORDS.map((r) => r.model))]
  for (const model of models) {
    const records = CRUX_RECORDS.filter((r) => r.model === model).map((r) => ({ id: r.id, question: `assert f(...) == ?? (${r.id})`, answer: r.gold, output: [r.output], generator: model }))
    await writeFile(join(dir, `${model}.json`), JSON.stringify(records))
  }
}

describe('any benchmark, one command', () => {
  let root: string
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'chorus-recorded-'))
    await cruxFolder(root)
  })
  afterAll(() => rm(root, { recursive: true, force: true }))

  it('loads a ZeroEval task folder by name, reading its replies as the literals its golds are', async () => {
    const t = await loadRecordedTask('zeroeval:crux', root)
    // Only questions every model replied to: #2 and #3 (gemma has no reply recorded here for #1 and #4).
    expect(t.questions.map((q) => q.id)).toEqual(['crux-test-#2', 'crux-test-#3'])
    expect(t.questions[0]!.spec).toEqual({ type: 'literal', marker: 'last' })
    expect(t.questions[0]!.replies.map((r) => r.answer)).toEqual(['hbtofdeiequ', 'hbtofdeiequ', 'hdeiequ'])
    await expect(loadRecordedTask('zeroeval:../etc', root)).rejects.toThrow(/not a ZeroEval task name/)
    await expect(loadRecordedTask('zeroeval:nope', root)).rejects.toThrow(/no ZeroEval data at/)
  })

  it('runs chorus eval on it, and on the same set as a JSON-lines file, with the same figures', async () => {
    let zero = ''
    await evalCommand(['--data', root, '--task', 'zeroeval:crux', '--judge-accuracy', '0.8'], (s) => (zero += s))
    expect(zero).toContain('crux: 3 recorded models')
    const file = join(root, 'crux.jsonl')
    let wrote = ''
    await evalCommand(['--data', root, '--task', 'zeroeval:crux', '--export', file], (s) => (wrote += s))
    expect(wrote).toContain('wrote 2 questions of crux (3 models, answer type literal)')
    expect(parseRecordedLines(await readFile(file, 'utf8'), 'crux')).toEqual(await loadRecordedTask('zeroeval:crux', root))
    let lines = ''
    await evalCommand(['--task', 'replay', '--file', file, '--judge-accuracy', '0.8'], (s) => (lines += s))
    const table = (report: string) => report.split('\n').filter((l) => l.startsWith('|')).join('\n')
    expect(table(lines)).toBe(table(zero))
    await expect(evalCommand(['--task', 'replay'])).rejects.toThrow(/--task replay reads recorded replies from --file/)
  })

  it('reads a multiple-choice task whose gold is the right choice’s text (MMLU-Redux, real replies) by its letters', async () => {
    const dir = join(root, 'zeroeval', 'mmlu-redux')
    await mkdir(dir, { recursive: true })
    const records = MMLU_REDUX_RECORDS.map(({ letter: _, ...r }) => ({ ...r, output: [r.output] }))
    await writeFile(join(dir, 'Qwen2-72B-Instruct.json'), JSON.stringify(records))
    const t = await loadRecordedTask('zeroeval:mmlu-redux', root)
    expect(t.questions.map((q) => q.gold)).toEqual(['D', 'B', 'B', 'B', 'C'])
    expect(t.questions[0]!.question).toContain('(D) Narcolepsy')
    expect(t.questions.map((q) => isRight(q.replies[0]!.raw, q.gold, q.spec))).toEqual([true, true, true, false, false])
  })

  it('refuses a malformed line with where and why, and infers a type the lines do not declare', () => {
    const line = (o: object) => JSON.stringify({ id: 'q1', question: 'Capital of France?', gold: 'Paris', replies: [{ model: 'a', text: 'paris.' }, { model: 'b', text: 'Lyon' }], ...o })
    const t = parseRecordedLines(line({}), 'cities')
    expect(t.questions[0]!.spec).toEqual({ type: 'short', marker: 'last' })
    expect(t.questions[0]!.replies.map((r) => r.answer)).toEqual(['paris.', 'Lyon'])
    expect(() => parseRecordedLines(line({ answer_type: 'essay' }), 'x')).toThrow(/x:1: answer_type must be one of/)
    expect(() => parseRecordedLines(line({ gold: 3 }), 'x')).toThrow(/x:1 has no "gold"/)
    expect(() => parseRecordedLines(`${line({})}\n${line({})}`, 'x')).toThrow(/x:2 repeats the id q1/)
    expect(() => parseRecordedLines(line({ marker: 'middle' }), 'x')).toThrow(/marker must be first or last/)
    expect(() => parseRecordedLines('not json', 'x')).toThrow(/x:1 is not JSON/)
  })
})
