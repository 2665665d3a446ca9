import { describe, expect, it } from 'vitest'
import { notGenuine } from '../../src/protocol/genuine.js'
import { ATTACKS, attackReply } from '../../src/eval/attacker.js'

describe('the prefilter’s text check', () => {
  it('marks what is plainly not an attempt: empty, no words, symbols, one token over and over, the question echoed', () => {
    expect(notGenuine('')).toBe('empty')
    expect(notGenuine(' \u200B\u202E ')).toBe('empty')
    expect(notGenuine('. ?')).toBe('no words')
    expect(notGenuine('꧁⸻ꙮ⸎⸙☙❦✣✤✥✦✧✩✪✫✬✭✮✯ ok')).toBe('not text')
    expect(notGenuine('yes '.repeat(30))).toBe('repetition')
    expect(notGenuine(`${'a'.repeat(80)}!`)).toBe('repetition')
    expect(notGenuine('What is 6 × 7?', 'What  is 6 × 7?')).toBe('the question')
  })

  it('leaves genuine answers alone, in any script, short or in LaTeX, and wrong ones too', () => {
    for (const a of ['42', 'The answer is 42.', 'Ответ: 42', '答案是 42', '$\\frac{3}{4}$', 'x = 5, so the answer is \\boxed{5}', 'No.', '```js\nfunction add(a, b) { return a + b }\n```']) expect([a, notGenuine(a)]).toEqual([a, undefined])
    // Attacker dressings are wrong answers, not non-answers: judging, not the prefilter, decides them.
    for (const k of ATTACKS) expect([k, notGenuine(attackReply(k, '43'))]).toEqual([k, undefined])
  })
})
