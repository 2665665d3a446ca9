import { lastBoxed, normalizeLatex, numericValue } from './answers.js'
import { literalKey, stringKey } from './pythonLiteral.js'

/**
 * What kind of answer a question wants, and the one reading of a reply that both the round's
 * grouping and every score use: two replies are in one group exactly when their keys are equal, so
 * equivalence is an equivalence relation by construction, and a reply is right exactly when its key
 * is the gold's.
 *
 * - `number`: a number or a mathematical expression. Numbers compare by value (7/2 = 3.5 =
 *   \frac{7}{2}, 1,000 = 1000, 50% = 50); expressions by their normalized LaTeX (spacing ignored).
 * - `choice`: one letter A–Z ("B", "(B)", "B) 42", "the answer is B").
 * - `literal`: a Python literal (string, number, bool, None, list, tuple, set, dict), compared by
 *   type and value: 'abc' = "abc", a tuple is not a list, whitespace and case inside a string count.
 *   A stated answer that is not a literal is the string it spells (models drop the quotes).
 * - `short`: a short text (a name, a word): the same after trimming, dropping one pair of
 *   surrounding quotes and a final period, and ignoring case; inner whitespace counts.
 * - `free`: the whole reply, for open questions: two replies are one group only when their text is
 *   the same up to Unicode normalization (NFC) and runs of whitespace. Nothing else merges them.
 * - `auto`: no declared type (an API request that names none): each reply's stated answer is read as
 *   a number, a letter or an expression when it plainly is one, as short text otherwise, and a long
 *   reply that states no answer as free text.
 */
export const ANSWER_TYPES = ['number', 'choice', 'literal', 'short', 'free', 'auto'] as const
export type AnswerType = (typeof ANSWER_TYPES)[number]

/** Which stated answer counts when a reply states several: few-shot base models go on to invent more questions, so for them the first. */
export type MarkerPolicy = 'first' | 'last'

export interface AnswerSpec {
  type: AnswerType
  marker: MarkerPolicy
}

export const AUTO_SPEC: AnswerSpec = { type: 'auto', marker: 'last' }

/** A reply's answer as written (before its type's normalization), and whether it came as a JSON string. */
interface Stated {
  text: string
  quoted: boolean
}

/** Replies up to this long are an answer in themselves ("42", "Paris", "x = 3"). */
const SHORT_REPLY = 64

/** The final answer a reply gives under `spec`, as text (undefined: it gives none). */
export function finalAnswer(reply: string, spec: AnswerSpec): string | undefined {
  return read(reply, spec)?.text
}

/** The key a reply is grouped by: its final answer's, or (when it gives none) its own text's, so it joins only identical replies. */
export function groupKey(reply: string, spec: AnswerSpec): string {
  const r = read(reply, spec)
  return r === undefined ? `none:${freeText(withoutThinking(reply))}` : r.key
}

/** The key of a gold answer (as a benchmark writes it) under `type`. */
export function goldKey(gold: string, type: AnswerType): string {
  return keyOf({ text: gold, quoted: false }, type === 'literal' ? 'literal-gold' : type)
}

/** Whether a reply's final answer is the gold's. */
export function isRight(reply: string, gold: string, spec: AnswerSpec): boolean {
  const r = read(reply, spec)
  return r !== undefined && r.key === goldKey(gold, spec.type)
}

/**
 * The type a benchmark's gold answers call for, when it declares none: numbers; letters; Python
 * values; mathematical expressions; short texts; else free text.
 */
export function inferAnswerType(golds: readonly string[]): Exclude<AnswerType, 'auto'> {
  if (golds.length === 0) return 'free'
  const g = golds.map((s) => s.trim())
  if (g.every((s) => numericValue(normalizeLatex(s)) !== undefined)) return 'number'
  if (g.every((s) => /^[A-Z]$/.test(s))) return 'choice'
  const literal = g.map((s) => literalKey(s))
  if (literal.every((k) => k !== undefined) && literal.some((k) => !/^(int|float):/.test(k!))) return 'literal'
  if (g.every((s) => numericValue(normalizeLatex(s)) !== undefined || /[\\^{}$]/.test(s))) return 'number'
  if (g.every((s) => s.length <= SHORT_REPLY)) return 'short'
  return 'free'
}

function read(reply: string, spec: AnswerSpec): { text: string; key: string } | undefined {
  const text = withoutThinking(reply)
  if (spec.type === 'free') {
    const t = text.trim()
    return t === '' ? undefined : { text: t, key: keyOf({ text: t, quoted: false }, 'free') }
  }
  const found = stated(text, spec.marker, spec.type === 'literal')
  const said = found === 'placeholder' ? undefined : (found ?? fallback(text, spec.type))
  return said === undefined ? undefined : { text: said.text, key: keyOf(said, spec.type) }
}

function withoutThinking(reply: string): string {
  return reply.replace(/<think>[\s\S]*?(<\/think>|$)/gi, '')
}

/**
 * What a reply states as its answer: a JSON "answer" field (of any JSON value), \boxed{}, or "the
 * answer is …", the first or last of them by `marker`. A template echoed back ("___") states
 * nothing, and nothing else is read in its place; an answer of only spaces is an answer where
 * values are asked (`keepBlank`).
 */
function stated(text: string, marker: MarkerPolicy, keepBlank: boolean): Stated | 'placeholder' | undefined {
  const fields = [...text.matchAll(/"answer"\s*:\s*/g)].map((m) => jsonValueAt(text, m.index! + m[0].length)).filter((v) => v !== undefined)
  const field = marker === 'first' ? fields[0] : fields.at(-1)
  if (field !== undefined) {
    const blank = field.text.trim() === ''
    if (/^[\s_.…?-]*$/.test(field.text) && !(blank && keepBlank && field.text.length > 0)) return 'placeholder'
    return field.quoted ? field : { text: field.text.trim(), quoted: false }
  }
  const boxed = lastBoxed(text)
  if (boxed !== undefined) return { text: boxed, quoted: false }
  const said = [...text.matchAll(/(?:final answer|the answer)\s*(?:is|:)\s*:?\s*([^\n]+)/gi)]
  const pick = marker === 'first' ? said[0] : said.at(-1)
  if (pick !== undefined) return { text: pick[1]!.trim().replace(/[.。]\s*$/, ''), quoted: false }
  return undefined
}

/** Where nothing is stated, what each type still reads as the answer. */
function fallback(text: string, type: AnswerType): Stated | undefined {
  const t = text.trim()
  if (t === '') return undefined
  switch (type) {
    case 'number': {
      const nums = t.match(/-?\d[\d,]*(?:\.\d+)?/g)
      return nums === null ? undefined : { text: nums.at(-1)!, quoted: false }
    }
    case 'choice':
      return letterOf(t) === undefined ? undefined : { text: t, quoted: false }
    case 'literal': {
      const fenced = /^```[\w-]*\n([\s\S]*?)\n?```$/.exec(t)?.[1]?.trim() ?? t
      return literalKey(fenced) === undefined ? undefined : { text: fenced, quoted: false }
    }
    case 'short':
    case 'auto':
      return t.length <= SHORT_REPLY ? { text: t, quoted: false } : undefined
    case 'free':
      return { text: t, quoted: false }
  }
}

function keyOf(s: Stated, type: AnswerType | 'literal-gold'): string {
  switch (type) {
    case 'number':
      return mathKey(s.text)
    case 'choice': {
      const letter = letterOf(s.text)
      return letter === undefined ? `s:${shortText(s.text)}` : `c:${letter}`
    }
    case 'literal':
      // A JSON string holds what the model wrote: a literal ('abc', [1, 2]) or, unquoted, the string itself.
      return `l:${literalKey(s.text) ?? (s.quoted ? stringKey(s.text) : stringKey(s.text.trim()))}`
    case 'literal-gold':
      return `l:${literalKey(s.text) ?? stringKey(s.text)}`
    case 'short':
      return `s:${shortText(s.text)}`
    case 'free':
      return `f:${freeText(s.text)}`
    case 'auto': {
      const t = s.text.trim()
      const letter = /^\(?[A-Z]\)?[.:)]?$/.test(t) ? letterOf(t) : undefined
      if (letter !== undefined) return `c:${letter}`
      if (numericValue(normalizeLatex(t)) !== undefined || /[\\$^]/.test(t)) return mathKey(t)
      return t.length <= SHORT_REPLY ? `s:${shortText(t)}` : `f:${freeText(t)}`
    }
  }
}

function mathKey(text: string): string {
  const s = normalizeLatex(text)
  const value = numericValue(s)
  return value === undefined ? `x:${s}` : `n:${value}`
}

/** A choice letter at the start of an answer: "B", "(B)", "B.", "B) 42", "b" alone. */
function letterOf(text: string): string | undefined {
  const t = text.trim()
  const m = /^\(([A-Za-z])\)/.exec(t) ?? /^([A-Z])(?:[.:)]|\s|$)/.exec(t) ?? /^([a-z])[.)]?$/.exec(t)
  return m?.[1]!.toUpperCase()
}

function shortText(text: string): string {
  let t = text.normalize('NFC').trim()
  const q = /^(["'`“‘])([\s\S]*)(["'`”’])$/.exec(t)
  if (q !== null && q[2] !== undefined && pairs(q[1]!, q[3]!)) t = q[2]
  return t.replace(/[.。]$/, '').toLowerCase()
}

function pairs(open: string, close: string): boolean {
  return open === close || (open === '“' && close === '”') || (open === '‘' && close === '’')
}

function freeText(text: string): string {
  return text.normalize('NFC').trim().replace(/\s+/g, ' ')
}

/**
 * The JSON value at `i` (after `"answer":`), as its text: a string's contents (its escapes read
 * loosely: LaTeX's \frac stays), or the raw text of a number, array, object, true, false or null,
 * which `literal` reads as the Python value it spells (true → True).
 */
function jsonValueAt(text: string, i: number): Stated | undefined {
  const c = text[i]
  if (c === '"') {
    let j = i + 1
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1
    if (j >= text.length) return undefined
    return { text: unescapeLoose(text.slice(i + 1, j)), quoted: true }
  }
  if (c === '[' || c === '{') {
    let depth = 0
    for (let j = i; j < text.length; j++) {
      const d = text[j]
      if (d === '"' || d === "'") {
        const q = d
        for (j++; j < text.length && text[j] !== q; j++) if (text[j] === '\\') j++
      } else if (d === '[' || d === '{') depth++
      else if ((d === ']' || d === '}') && --depth === 0) return { text: pythonOfJson(text.slice(i, j + 1)), quoted: false }
    }
    return undefined
  }
  const word = /^(?:true|false|null|-?\d+(?:[.,]\d+)*(?:[eE][+-]?\d+)?)/.exec(text.slice(i))
  if (word === null) return undefined
  return { text: pythonOfJson(word[0]), quoted: false }
}

/** JSON's true/false/null as Python writes them (outside strings), so the literal reader takes them. */
function pythonOfJson(raw: string): string {
  return raw.replace(/("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|\b(true|false|null)\b/g, (m, str: string | undefined, word: string | undefined) =>
    str !== undefined ? m : word === 'true' ? 'True' : word === 'false' ? 'False' : 'None',
  )
}

/** JSON string escapes, tolerating the invalid ones LaTeX produces (\( \frac …) by keeping them. */
function unescapeLoose(s: string): string {
  return s.replace(/\\(["\\/bfnrt]|u[0-9a-fA-F]{4})/g, (m, c: string) => {
    if (c.startsWith('u')) return String.fromCharCode(Number.parseInt(c.slice(1), 16))
    if (c === '"' || c === '\\' || c === '/') return c
    // \b \f \n \r \t would mangle LaTeX (\frac, \neq, \times): kept as written.
    return m
  })
}
