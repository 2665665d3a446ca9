/**
 * Final answers: pull the final answer out of a model's reply, normalize it, and decide whether two
 * answers are the same. Votes and agreement between nodes rest on this, so it is strict about
 * numbers (7/2 = 3.5 = \frac{7}{2}, 1,000 = 1000, 50% = 50) and conservative elsewhere (two
 * expressions are the same only if their normal forms are identical).
 */

/**
 * The final answer in a reply: a JSON "answer" field, \boxed{}, "the answer is …", or (unless
 * `explicitOnly`) the last number.
 */
export function extractAnswer(reply: string, explicitOnly = false): string | undefined {
  const text = reply.replace(/<think>[\s\S]*?(<\/think>|$)/gi, '')
  const field = lastMatch(text, /"answer"\s*:\s*("(?:[^"\\]|\\.)*"|-?[\d.,]+(?:e-?\d+)?)/g)
  if (field !== undefined) {
    const raw = field[1]!
    const value = raw.startsWith('"') ? unescapeLoose(raw.slice(1, -1)) : raw
    // A model that echoes the prompt's template ("answer": "___") has given no answer.
    if (/^[\s_.…?-]*$/.test(value)) return undefined
    return value.trim()
  }
  const boxed = lastBoxed(text)
  if (boxed !== undefined) return boxed
  const said = lastMatch(text, /(?:final answer|the answer)\s*(?:is|:)\s*:?\s*([^\n]+)/gi)
  if (said !== undefined) return said[1]!.trim().replace(/[.。]\s*$/, '')
  if (explicitOnly) return undefined
  const num = lastMatch(text, /-?\d[\d,]*(?:\.\d+)?/g)
  return num?.[0]
}

/** JSON string escapes, tolerating the invalid ones LaTeX produces (\( \frac …) by keeping them. */
function unescapeLoose(s: string): string {
  return s.replace(/\\(["\\/bfnrt]|u[0-9a-fA-F]{4})/g, (m, c: string) => {
    if (c.startsWith('u')) return String.fromCharCode(Number.parseInt(c.slice(1), 16))
    // \b \f \n \r \t would mangle LaTeX (\frac, \neq, \times): keep letters as written.
    if (c === '"' || c === '\\' || c === '/') return c
    return m
  })
}

function lastMatch(text: string, re: RegExp): RegExpExecArray | undefined {
  let last: RegExpExecArray | undefined
  for (let m = re.exec(text); m !== null; m = re.exec(text)) last = m
  return last
}

/** Contents of the last \boxed{…} (or \fbox{…}), braces balanced. */
export function lastBoxed(text: string): string | undefined {
  const at = Math.max(text.lastIndexOf('\\boxed'), text.lastIndexOf('\\fbox'))
  if (at < 0) return undefined
  const open = text.indexOf('{', at)
  if (open < 0) return undefined
  let depth = 0
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++
    else if (text[i] === '}' && --depth === 0) return text.slice(open + 1, i).trim()
  }
  return undefined
}

/**
 * The normal form two answers are compared by. A number (integer, decimal, fraction, percentage,
 * with units and separators stripped) becomes `n:` plus its reduced value; a choice letter `c:X`;
 * anything else `s:` plus its LaTeX-normalized text.
 */
export function answerKey(answer: string): string {
  const s = normalizeLatex(answer)
  const choice = /^\(?([A-Ea-e])\)?[.:]?$/.exec(s)
  if (choice) return `c:${choice[1]!.toUpperCase()}`
  const value = numericValue(s)
  if (value !== undefined) return `n:${value}`
  return `s:${s}`
}

/** Replies up to this long are an answer in themselves ("42", "Paris", "x = 3"). */
const SHORT_REPLY = 64

/**
 * The key a whole reply is grouped by: the key of a final answer it states explicitly (a JSON
 * "answer" field, \boxed{}, "the answer is"), or of the whole reply when it is short. A long reply
 * with no stated answer (an essay, a recipe) groups only with the same text: its last number says
 * nothing about what it answers.
 */
export function replyKey(reply: string): string {
  const trimmed = reply.trim()
  const stated = extractAnswer(trimmed, true)
  if (stated !== undefined) return answerKey(stated)
  if (trimmed.length <= SHORT_REPLY) return answerKey(trimmed)
  return `t:${trimmed.toLowerCase().replace(/\s+/g, ' ')}`
}

export function sameAnswer(a: string, b: string): boolean {
  return answerKey(a) === answerKey(b)
}

const UNIT_WORDS =
  /\s*(?:dollars?|cents?|usd|euros?|pounds?|kg|g|grams?|kilograms?|lbs?|miles?|mph|km|m|cm|mm|meters?|metres?|inches|inch|feet|foot|ft|yards?|hours?|hrs?|minutes?|mins?|seconds?|secs?|days?|weeks?|months?|years?|units?|square\s+\w+|sq\s*\w+|degrees?|people|students?|apples?|books?|cookies?|eggs?|marbles?|pages?|points?|times?)\.?$/i

export function normalizeLatex(answer: string): string {
  let s = answer.trim()
  s = s.replace(/^\$+|\$+$/g, '').replace(/^\\\(|\\\)$/g, '').replace(/^\\\[|\\\]$/g, '')
  s = s.replace(/\\(?:text|textbf|mathrm|mathbf|operatorname)\{([^{}]*)\}/g, '$1')
  s = s.replace(/\\(?:left|right|displaystyle|!|,|;|:|quad|qquad)/g, '').replace(/\\ /g, ' ')
  s = s.replace(/\\?(?:dfrac|tfrac)/g, '\\frac')
  s = s.replace(/\^\s*\{?\\circ\}?|°/g, '')
  s = s.replace(/\\%|%/g, '%')
  s = s.replace(/^(?:x|y|n|k|a|b|answer)\s*=\s*/i, '')
  s = s.replace(/\s+/g, ' ').trim()
  s = s.replace(/[.。]$/, '')
  // A numeral's base subscript (2021_3): models write the same digits without it.
  s = s.replace(/^(-?\d+)_\{?\d+\}?$/, '$1')
  // \frac12 → \frac{1}{2}; \sqrt2 → \sqrt{2}
  s = s.replace(/\\frac(\d)(\d)/g, '\\frac{$1}{$2}').replace(/\\sqrt(\d+)/g, '\\sqrt{$1}')
  s = s.replace(/\s+/g, '')
  return s
}

/** A number's canonical value: an integer, a reduced fraction p/q, or a decimal to 9 significant digits. */
export function numericValue(s: string): string | undefined {
  let t = s.replace(/^\\?\$|\\?\$$/g, '').replace(UNIT_WORDS, '')
  t = t.replace(/^\\\$|^\$/, '').replace(/(\d),(?=\d{3}\b)/g, '$1')
  const percent = t.endsWith('%')
  if (percent) t = t.slice(0, -1)
  let m = /^([+-])?\\frac\{(-?\d+)\}\{(-?\d+)\}$/.exec(t) ?? /^([+-])?(-?\d+)\/(-?\d+)$/.exec(t)
  if (m) {
    const sign = m[1] === '-' ? -1n : 1n
    const p = BigInt(m[2]!) * sign
    const q = BigInt(m[3]!)
    if (q === 0n) return undefined
    return fraction(p, q)
  }
  m = /^([+-]?)(\d+)(?:\.(\d+))?$/.exec(t)
  if (m) {
    const digits = `${m[2]}${m[3] ?? ''}`
    const scale = 10n ** BigInt((m[3] ?? '').length)
    return fraction(BigInt(digits) * (m[1] === '-' ? -1n : 1n), scale)
  }
  return undefined
}

function fraction(p: bigint, q: bigint): string {
  if (q < 0n) {
    p = -p
    q = -q
  }
  const g = gcd(p < 0n ? -p : p, q)
  p /= g
  q /= g
  return q === 1n ? `${p}` : `${p}/${q}`
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b]
  return a === 0n ? 1n : a
}
