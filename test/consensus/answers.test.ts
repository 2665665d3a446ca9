import { describe, expect, it } from 'vitest'
import { answerKey, extractAnswer, lastBoxed, replyKey, sameAnswer } from '../../src/consensus/answers.js'

/**
 * Fixtures: the closing lines of eight real replies from the ZeroEval result files
 * (github.com/yuchenlin/ZeroEval, Apache-2.0), with their gold answers.
 */
const REAL = [
  { gold: '64', tail: 'Therefore, Kylar needs to pay $64 for the 16 glasses.",\n    "answer": "64"\n}\n```', expected: '64' },
  { gold: '57500', tail: 'Annual salary = $1150/week * 50 weeks/year = $57,500\\n\\nTherefore, Jill\'s annual salary is $57,500.",\n    "answer": "57500"\n}\n```', expected: '57500' },
  { gold: '540', tail: 'So, in a week, he runs 180 * 3 = 540 meters.",\n    "answer": "540"\n}', expected: '540' },
  { gold: '49', tail: 'which is y = 24 + 25 = 49. ",\n    "answer": "49"\n}\n```', expected: '49' },
  { gold: '26', tail: 'The integers within these intervals are 1, 2, 7. ",\n    "answer": "3"\n}\n```', expected: '3' },
  { gold: '-55', tail: 'Please show your final answer in the `answer` field, e.g.,`"answer": "42"`.\n\n```json\n{\n    "reasoning": "___",\n    "answer": "___"\n}\n```', expected: undefined },
  { gold: '0', tail: 'The value of $\\frac{a + b}{2}$ is $\\frac{2/3 - 2/3}{2} = 0$. Therefore, the answer is $\\boxed{0}$.\n}\n```', expected: '0' },
  { gold: '5', tail: 'with a real part of 15 and an imaginary part that is not zero.",\n    "answer": "15"\n}\n```', expected: '15' },
]

describe('final-answer extraction on real replies', () => {
  it.each(REAL.map((r, i) => [i, r] as const))('reply %i', (_, r) => {
    const a = extractAnswer(r.tail)
    expect(a).toBe(r.expected)
    if (a !== undefined) expect(sameAnswer(a, r.gold)).toBe(a === r.expected && answerKey(r.expected) === answerKey(r.gold))
  })

  it('falls back to \\boxed{}, "the answer is", then the last number; strips <think>', () => {
    expect(extractAnswer('so we get \\boxed{\\frac{3}{4}} in the end')).toBe('\\frac{3}{4}')
    expect(extractAnswer('Thus the final answer is 12 apples.')).toBe('12 apples')
    expect(extractAnswer('3 plus 4 makes 7')).toBe('7')
    expect(extractAnswer('<think>maybe 5</think>The answer is: 6')).toBe('6')
    expect(extractAnswer('"answer": 42}')).toBe('42')
    expect(extractAnswer('"answer": "\\(\\sqrt{2}\\)"')).toBe('\\(\\sqrt{2}\\)')
    expect(extractAnswer('no digits here')).toBeUndefined()
    expect(lastBoxed('\\boxed{a{b}c} and \\boxed{x^{2}}')).toBe('x^{2}')
  })
})

describe('grouping whole replies', () => {
  it('groups by a stated final answer, or by short replies, never by a long reply\'s last number', () => {
    expect(replyKey('After working it out, the answer is 42.')).toBe(replyKey('42'))
    expect(replyKey('"reasoning": "...", "answer": "3.5"')).toBe(replyKey('7/2'))
    const essayA = 'Time management starts with goals. Write them down, then plan the week ahead in blocks of 3 hours.'
    const essayB = 'Sleep well, exercise, and keep a diary; most people need about 3 weeks before a habit sticks.'
    expect(replyKey(essayA)).not.toBe(replyKey(essayB))
    expect(replyKey(essayA)).toBe(replyKey(`  ${essayA.toUpperCase()} `))
  })
})

describe('answer equivalence', () => {
  it.each([
    ['1,000', '1000'],
    ['$70,000', '70000'],
    ['3.50', '7/2'],
    ['\\frac{7}{2}', '3.5'],
    ['\\dfrac{14}{4}', '\\frac72'],
    ['-\\frac{1}{2}', '-0.5'],
    ['50%', '50'],
    ['18 dollars', '18'],
    ['90^\\circ', '90'],
    ['x = 5', '5'],
    ['\\text{(C)}', 'C'],
    ['(b)', 'B'],
    ['\\sqrt2', '\\sqrt{2}'],
    ['2\\sqrt{3}', '2 \\sqrt{3}'],
    ['1112112_3', '1112112'],
    ['$\\left(1, 2\\right)$', '(1,2)'],
  ])('%s ≡ %s', (a, b) => expect(sameAnswer(a, b)).toBe(true))

  it.each([
    ['7/2', '3.49'],
    ['\\sqrt{2}', '\\sqrt{3}'],
    ['(1,2)', '(2,1)'],
    ['A', 'B'],
    ['10', '100'],
    ['1/0', '0'],
  ])('%s ≢ %s', (a, b) => expect(sameAnswer(a, b)).toBe(false))
})
