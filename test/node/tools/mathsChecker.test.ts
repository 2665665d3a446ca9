import { describe, expect, it } from 'vitest'
import { checkArithmetic, evidenceFavours, finalNumber, mathsEvidence } from '../../../src/node/tools/mathsChecker.js'

const flags = (t: string) => checkArithmetic(t).failed.map((c) => [c.computed, c.stated])

describe('the maths checker', () => {
  it('recomputes the arithmetic a chain states, with units, currency, thousands and prose around it', () => {
    const chain =
      "Janet's ducks lay 16 eggs per day. She eats 3 for breakfast and bakes 4 for her friends, so she has 16 - 3 - 4 = 9 eggs left. To find out how much she makes, we multiply: 9 eggs * $2 per egg = $18."
    expect(checkArithmetic(chain)).toMatchObject({ checked: 2, failed: [], lastValue: 18 })
    const house = 'So, the new value of the house is 1.5 x $80,000 = $120,000. His total investment is $80,000 (purchase price) + $50,000 (repairs) = $130,000. His profit is $120,000 - $130,000 = -$10,000.'
    expect(checkArithmetic(house)).toMatchObject({ checked: 3, failed: [], lastValue: -10_000 })
  })

  it('flags a wrong product, sum, quotient or percentage, and says what it should be', () => {
    expect(flags('So 3 × 17 = 52 apples.')).toEqual([[51, 52]])
    expect(flags('In total 12 + 15 + 8 = 36.')).toEqual([[35, 36]])
    expect(flags('Each gets 84 / 4 = 22 cookies')).toEqual([[21, 22]])
    expect(flags('The discount is 20% of 50 = 12 dollars')).toEqual([[10, 12]])
    expect(flags('3 times 4 = 13')).toEqual([[12, 13]])
  })

  it('accepts a result rounded to the digits it shows, and ≈ within 1 %', () => {
    expect(flags('10 / 3 = 3.33 hours')).toEqual([])
    expect(flags('10 / 3 = 3.3')).toEqual([])
    expect(flags('10 / 3 = 3.4')).toEqual([[10 / 3, 3.4]])
    expect(flags('22 / 7 ≈ 3.14')).toEqual([])
    expect(flags('The rate is 30 / 120 = 25%')).toEqual([])
    expect(flags('50 * 20% = 10')).toEqual([])
  })

  it('checks chains of equals signs and LaTeX', () => {
    expect(flags('2 * (3 + 4) = 2 * 7 = 14')).toEqual([])
    expect(flags('2 * (3 + 4) = 2 * 7 = 15')).toEqual([[14, 15]])
    expect(flags('\\frac{3}{4} \\times 8 = 6, and 5 \\cdot 6 = 31')).toEqual([[30, 31]])
    expect(checkArithmetic('$\\frac{1}{2} \\cdot 10 = 5$').checked).toBe(1)
  })

  it('leaves alone what is not arithmetic: definitions, bare numbers, variables, prose', () => {
    for (const t of ['x = 5', 'Let n = 3 and m = 4', 'The answer = 18', 'a + b = 10', 'Total eggs = 16', 'Half of 2 is 1', '5 = 5', 'Step 2: 4 = 4', '"answer": "18"', 'x + 2 = 7, so x = 5']) {
      expect([t, checkArithmetic(t).failed]).toEqual([t, []])
    }
    expect(checkArithmetic('x + 2 = 7').checked).toBe(0)
  })

  it('is bounded on long or hostile text and never throws', () => {
    expect(() => checkArithmetic('1 + '.repeat(50_000) + '1 = 2')).not.toThrow()
    expect(() => checkArithmetic(`${'('.repeat(20_000)}1 = 1`)).not.toThrow()
    expect(() => checkArithmetic(`${'- '.repeat(10_000)}1 = 1`)).not.toThrow()
    expect(checkArithmetic(Array.from({ length: 1000 }, (_, i) => `${i} + 1 = ${i + 1}.`).join(' ')).checked).toBe(200)
    expect(checkArithmetic('5 / 0 = 3').checked).toBe(0)
    expect(checkArithmetic('((((2)))) * 3 = 6').failed).toEqual([])
  })
})

describe('which answer the evidence favours', () => {
  const ev = (text: string) => mathsEvidence(text, finalNumber(text, { type: 'number', marker: 'last' }))
  it('prefers the chain whose stated arithmetic holds', () => {
    expect(evidenceFavours(ev('3 × 17 = 51. The answer is 51.'), ev('3 × 17 = 52. The answer is 52.'))).toBe('A')
    expect(evidenceFavours(ev('3 × 17 = 52. The answer is 52.'), ev('3 × 17 = 51. The answer is 51.'))).toBe('B')
  })

  it("prefers the answer the other chain itself computed last before stating something else", () => {
    const strayed = ev('3 × 17 = 51 apples in the boxes, and 2 more make the answer 53.')
    const kept = ev('Each box has 17, so 3 boxes hold 51. The answer is 51.')
    expect(strayed.failed).toBe(0)
    expect(evidenceFavours(strayed, kept)).toBe('B')
    expect(evidenceFavours(kept, strayed)).toBe('A')
    // A chain that merely does not end on its answer, against an answer it never computed: no decision.
    expect(evidenceFavours(strayed, ev('The answer is 50.'))).toBeUndefined()
    // The same final answer: nothing to decide between.
    expect(evidenceFavours(kept, ev('It is 51.'))).toBeUndefined()
  })
})
