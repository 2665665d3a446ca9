import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { answerKey, extractAnswer, replyKey } from '../../src/consensus/answers.js'
import { ANSWER_TYPES, type AnswerSpec, type AnswerType, finalAnswer, goldKey, groupKey, inferAnswerType, isRight } from '../../src/consensus/answerTypes.js'
import { loadZeroEval } from '../../src/eval/zeroeval.js'
import { CRUX_RECORDS } from '../fixtures/zeroeval-crux.js'

const literal: AnswerSpec = { type: 'literal', marker: 'last' }
const choice: AnswerSpec = { type: 'choice', marker: 'last' }
const crux = (id: string, model: string) => CRUX_RECORDS.find((r) => r.id === id && r.model.startsWith(model))!
const DATA = '../shared/data'

describe('answer types, on real replies (ZeroEval CRUXEval) — each case read wrong before answer types', () => {
  it('keeps whitespace inside values: 3 spaces are not 11, and "h e l l o" is not "hello"', () => {
    const three = crux('crux-test-#4', 'Qwen2')
    expect(isRight(three.output, three.gold, literal)).toBe(false)
    // Before: every space was dropped, so the 3-space reply matched the 11-space gold.
    expect(answerKey(extractAnswer(three.output)!)).toBe(answerKey(three.gold))
    const a = '{"answer": "\'h e l l o\'"}'
    const b = '{"answer": "\'hello\'"}'
    expect(groupKey(a, literal)).not.toBe(groupKey(b, literal))
    expect(groupKey('{"answer": "6,8,8"}', { type: 'short', marker: 'last' })).not.toBe(groupKey('{"answer": "6, 8, 8"}', { type: 'short', marker: 'last' }))
    expect(replyKey(a)).toBe(replyKey(b))
  })

  it('reads a value the same however it is quoted: hbtofdeiequ, "hbtofdeiequ" and \'hbtofdeiequ\' are one group', () => {
    const bare = crux('crux-test-#2', 'Qwen2')
    const keys = [bare.output, '{"answer": "\\"hbtofdeiequ\\""}', `{"answer": "'hbtofdeiequ'"}`].map((r) => groupKey(r, literal))
    expect(new Set(keys).size).toBe(1)
    expect(keys[0]).toBe(goldKey(bare.gold, 'literal'))
    expect(isRight(bare.output, bare.gold, literal)).toBe(true)
    expect(isRight(crux('crux-test-#2', 'Meta-Llama').output, bare.gold, literal)).toBe(true)
    expect(isRight(crux('crux-test-#2', 'gemma').output, bare.gold, literal)).toBe(false)
    // Before: three groups, and only one matched the gold.
    expect(new Set([bare.output, '{"answer": "\\"hbtofdeiequ\\""}', `{"answer": "'hbtofdeiequ'"}`].map(replyKey)).size).toBe(3)
  })

  it('reads a structured answer as the value it is, for the score and the group alike', () => {
    const dict = crux('crux-test-#1', 'Meta-Llama')
    // {"1": null, "2": null} has string keys; the gold {1: None, 2: None} has ints: wrong, by type.
    expect(finalAnswer(dict.output, literal)).toBe('{"1": None, "1": None, "1": None, "2": None}')
    expect(groupKey(dict.output, literal)).toBe(groupKey(`{"answer": "{'1': None, '2': None}"}`, literal))
    expect(isRight(dict.output, dict.gold, literal)).toBe(false)
    expect(isRight('{"answer": {"1": null, "2": null}}', "{'1': None, '2': None}", literal)).toBe(true)
    expect(goldKey('(1, 2)', 'literal')).not.toBe(goldKey('[1, 2]', 'literal'))
    // Before: scored by its last number, grouped by its whole text.
    expect(extractAnswer(dict.output)).toBe('2')
    expect(replyKey(dict.output).startsWith('t:')).toBe(true)
  })

  it('takes an answer of spaces as an answer', () => {
    const spaces = crux('crux-test-#4', 'Meta-Llama')
    expect(finalAnswer(spaces.output, literal)).toBe('    ')
    expect(isRight(spaces.output, "'    '", literal)).toBe(true)
    expect(isRight(spaces.output, spaces.gold, literal)).toBe(false)
    expect(extractAnswer(spaces.output)).toBeUndefined()
    // A template echoed back is still no answer.
    expect(finalAnswer('{"reasoning": "___", "answer": "___"}', literal)).toBeUndefined()
  })

  it('reads choice letters up to Z, and a bare letter is an answer for the score as for the round', () => {
    expect(groupKey('After weighing the options, the answer is (H).', choice)).toBe('c:H')
    expect(isRight('the answer is (H).', 'H', choice)).toBe(true)
    expect(answerKey('H')).toBe('s:H')
    expect(isRight('B', 'B', choice)).toBe(true)
    expect(isRight('(b)', 'B', choice)).toBe(true)
    expect(isRight('B) 42 apples', 'B', choice)).toBe(true)
    // Before: no answer when scoring, an answer in the round.
    expect(extractAnswer('B')).toBeUndefined()
    expect(replyKey('B')).toBe('c:B')
  })

  it('lets a benchmark count the first stated answer, for base models that go on inventing questions', () => {
    const fewShot = 'Tom has 3 bags of 4 apples. The answer is 12.\n\nQuestion: Ann has 2 cats and buys 5 more. How many?\nThe answer is 7.'
    expect(finalAnswer(fewShot, { type: 'number', marker: 'first' })).toBe('12')
    expect(finalAnswer(fewShot, { type: 'number', marker: 'last' })).toBe('7')
    expect(extractAnswer(fewShot)).toBe('7')
  })

  it('never merges free-form answers by accident: only the same text up to whitespace runs', () => {
    const free: AnswerSpec = { type: 'free', marker: 'last' }
    const essay = 'Paris is the capital of France.\n\nIt has been since 987.'
    expect(groupKey(essay, free)).toBe(groupKey('Paris is the capital of France. It has   been since 987.', free))
    expect(groupKey(essay, free)).not.toBe(groupKey('paris is the capital of France. It has been since 987.', free))
    expect(groupKey(essay, free)).not.toBe(groupKey('Paris is the capital of France. It has been since 987', free))
  })

  it('infers a benchmark type from its gold answers, conservatively', () => {
    expect(inferAnswerType(['18', '3.5', '1,000'])).toBe('number')
    expect(inferAnswerType(['A', 'J', 'C'])).toBe('choice')
    expect(inferAnswerType(["'abc'", '[1, 2]', '42'])).toBe('literal')
    expect(inferAnswerType(['\\frac{1}{2}', '3'])).toBe('number')
    expect(inferAnswerType(['Paris', 'Ulm'])).toBe('short')
    expect(inferAnswerType(['x'.repeat(100)])).toBe('free')
  })
})

describe('equivalence is an equivalence relation for every type', () => {
  // Random replies over an alphabet that exercises quotes, spaces, case, digits, brackets and LaTeX.
  const alphabet = ['a', 'A', 'b', ' ', '  ', "'", '"', '1', '2', '0', '.', ',', '[', ']', '(', ')', '{', '}', ':', '\\frac{1}{2}', '0.5', 'the answer is ', '"answer": ', 'True', 'None', '\n']
  let seed = 7
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed % n
  }
  const replies = Array.from({ length: 400 }, () => Array.from({ length: 1 + rand(6) }, () => alphabet[rand(alphabet.length)]).join(''))
  for (const type of ANSWER_TYPES as readonly AnswerType[]) {
    it(`${type}: reflexive, symmetric and transitive over 400 random replies`, () => {
      const spec: AnswerSpec = { type, marker: 'last' }
      const key = (r: string) => groupKey(r, spec)
      const same = (a: string, b: string) => key(a) === key(b)
      for (const a of replies) expect(same(a, a)).toBe(true)
      for (let i = 0; i < 2000; i++) {
        const [a, b, c] = [replies[rand(400)]!, replies[rand(400)]!, replies[rand(400)]!]
        expect(same(a, b)).toBe(same(b, a))
        if (same(a, b) && same(b, c)) expect(same(a, c)).toBe(true)
      }
    })
  }
})

describe.skipIf(!existsSync(`${DATA}/zeroeval/gsm`))('scoring and grouping agree on every reply of the shared data', () => {
  for (const task of ['gsm', 'math-l5'] as const) {
    it(`${task}: a reply scores right exactly when the round would group it with the gold stated as an answer`, async () => {
      const t = await loadZeroEval(DATA, task)
      let replies = 0
      for (const q of t.questions) {
        const goldReply = groupKey(`{"answer": "${q.gold.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"}`, q.spec)
        for (const r of q.replies) {
          replies++
          expect(isRight(r.raw, q.gold, q.spec)).toBe(groupKey(r.raw, q.spec) === goldReply)
          expect(r.answer === undefined).toBe(groupKey(r.raw, q.spec).startsWith('none:'))
        }
      }
      expect(replies).toBeGreaterThan(7000)
    })
  }
})
