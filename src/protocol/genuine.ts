import { judgeView } from './judgeText.js'

/**
 * A cheap first pass of the GOOD/BAD prefilter: whether an answer is plainly not a genuine attempt
 * — empty, no words, mostly symbols outside the common scripts (the low-frequency-token attack),
 * one token over and over, or the question copied back. A text check, no model call; what it may
 * miss a judge's model still sees. Measured on real answers by `npm run bench -- prefilter`: how
 * often it would have removed a right answer.
 */
export type NotGenuine = 'empty' | 'no words' | 'not text' | 'repetition' | 'the question'

/** Letters of the common scripts, digits, whitespace, punctuation, maths and currency signs. */
const COMMON = /[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Arabic}\p{Script=Hebrew}\p{Script=Devanagari}\p{Script=Thai}\p{N}\s\p{P}\p{Sm}\p{Sc}\p{M}]/u

export function notGenuine(answer: string, question?: string): NotGenuine | undefined {
  const text = judgeView(answer).replace(/<think>[\s\S]*?(<\/think>|$)/gi, '').trim()
  if (text === '') return 'empty'
  const chars = [...text]
  if (chars.filter((c) => /[\p{L}\p{N}]/u.test(c)).length < 2) return 'no words'
  if (chars.filter((c) => COMMON.test(c)).length < 0.6 * chars.length) return 'not text'
  const tokens = text.split(/\s+/)
  if (tokens.length >= 10) {
    const counts = new Map<string, number>()
    for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1)
    if (Math.max(...counts.values()) >= 0.6 * tokens.length) return 'repetition'
  }
  if (/(.)\1{29,}/su.test(text) && (text.match(/(.)\1{29,}/gsu)?.join('').length ?? 0) >= 0.5 * text.length) return 'repetition'
  if (question !== undefined && text.replace(/\s+/g, ' ') === judgeView(question).trim().replace(/\s+/g, ' ')) return 'the question'
  return undefined
}
