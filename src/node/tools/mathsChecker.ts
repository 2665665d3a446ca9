import { normalizeLatex, numericValue } from '../../consensus/answers.js'
import { type AnswerSpec, finalAnswer } from '../../consensus/answerTypes.js'

/**
 * The maths checker: finds the arithmetic a reasoning chain states ("3 × 17 = 52", "20% of 50 =
 * 10", "$80,000 + $50,000 = $130,000", "\frac{3}{4} \cdot 8 = 6") and recomputes it. Pure: a
 * function of the text. It reads only claims it can parse without guessing — an equals sign with
 * an arithmetic expression on at least one side and numbers on both — and skips everything else,
 * so a flag means a stated computation is wrong, not that the checker was confused.
 *
 * Used by answerers to check their own chain and by judges as evidence (integers in the verdict).
 */
export interface Claim {
  /** The claim as written, trimmed (at most 120 characters). */
  text: string
  computed: number
  stated: number
}

export interface MathsCheck {
  /** Claims found and recomputed. */
  checked: number
  /** Those whose stated result is not what the expression gives. */
  failed: Claim[]
  /** The value of the last claim checked (what the chain computed last), if any. */
  lastValue: number | undefined
}

const MAX_TEXT = 64 * 1024
const MAX_CLAIMS = 200

/** Word operators between two numbers ("3 times 4"), read as symbols before parsing. */
const BEFORE_NUMBER = String.raw`(?=\s*[-$(\d])`
const WORD_OPS: [RegExp, string][] = [
  [new RegExp(String.raw`(?<=[\d%)]\s*)\bmultiplied by\b${BEFORE_NUMBER}`, 'gi'), '*'],
  [new RegExp(String.raw`(?<=[\d%)]\s*)\bdivided by\b${BEFORE_NUMBER}`, 'gi'), '/'],
  [new RegExp(String.raw`(?<=[\d%)]\s*)\btimes\b${BEFORE_NUMBER}`, 'gi'), '*'],
  [new RegExp(String.raw`(?<=[\d%)]\s*)\bplus\b${BEFORE_NUMBER}`, 'gi'), '+'],
  [new RegExp(String.raw`(?<=[\d%)]\s*)\bminus\b${BEFORE_NUMBER}`, 'gi'), '-'],
]

export function checkArithmetic(text: string): MathsCheck {
  const failed: Claim[] = []
  let checked = 0
  let lastValue: number | undefined
  for (const sentence of sentences(delatex(text.slice(0, MAX_TEXT)))) {
    if (checked >= MAX_CLAIMS) break
    const parts = sentence.split(/=|≈/)
    if (parts.length < 2) continue
    const approx = sentence.includes('≈')
    // Each side of each equals sign: the first read from its end (the words before are prose),
    // the last from its start (the words after are prose); a side between two equals signs must
    // be an expression and nothing else. A bare number on the left counts as a stated result only
    // when the side holds nothing else ("Adrian's age in 3 years = 63 + 3" states no 3).
    const last = parts.length - 1
    const values = parts.map((p, i) => {
      if (i === 0) {
        const side = tailExpression(p)
        return side !== undefined && !side.operated && /[A-Za-z]/.test(p) ? undefined : side
      }
      // Between two equals signs, a side with prose before its first number is a description
      // ("Toni's plants - 7"), not an expression.
      if (i < last && /[A-Za-z][^\d]*\d/.test(p.replace(/\d.*$/s, (m) => m.slice(0, 1)))) return undefined
      return headExpression(p, i < last)
    })
    for (let i = 0; i + 1 < values.length; i++) {
      const a = values[i]
      const b = values[i + 1]
      if (a === undefined || b === undefined || (!a.operated && !b.operated)) continue
      // "3 hours - 30 minutes": a sum of different units is not arithmetic the checker can judge.
      if (mixedUnits(parts[a.operated ? i : i + 1]!)) continue
      // The side with the operation is the computation; the other is the stated result.
      const [computed, stated] = a.operated ? [a.value, b] : [b.value, a]
      checked++
      lastValue = computed
      if (!agrees(computed, stated, approx)) failed.push({ text: sentence.trim().slice(0, 120), computed, stated: stated.value })
    }
  }
  return { checked, failed, lastValue }
}

/** Whether a side adds or subtracts numbers of different units ("3 hours - 30 minutes", "3 men + 7 women"). */
function mixedUnits(side: string): boolean {
  if (!/[+\-−]/.test(side)) return false
  const units = new Set<string>()
  for (const m of side.matchAll(/\d[\d,.]*\s*%?\s*([A-Za-z]{2,})/g)) {
    const u = m[1]!.toLowerCase().replace(/s$/, '')
    if (!NOT_UNITS.has(u)) units.add(u)
  }
  return units.size > 1
}

const NOT_UNITS = new Set(['time', 'of', 'per', 'and', 'plu', 'minu', 'divided', 'multiplied', 'each', 'by', 'for', 'in', 'the', 'to', 'more', 'les', 'from'])

/**
 * Whether a final answer follows from the chain: it equals what the chain computed last (to the
 * digits the answer shows). Undefined where the chain computed nothing the checker could read.
 */
export function followsFromChain(check: MathsCheck, finalValue: number | undefined): boolean | undefined {
  if (check.lastValue === undefined || finalValue === undefined) return undefined
  return Math.abs(check.lastValue - finalValue) <= 0.005 * Math.max(1, Math.abs(finalValue))
}

/**
 * The checker's evidence on one answer, as the integers a verdict may carry: claims checked, claims
 * wrong, and whether the final answer follows from the chain (1), does not (0), or cannot be told (-1).
 */
export interface MathsEvidence {
  checked: number
  failed: number
  follows: -1 | 0 | 1
  /** The value the chain computed last and the final answer's value, where there are (not signed: `evidenceFavours` compares them across a pair). */
  last?: number
  final?: number
}

/** A reply's final answer as a number, read as the round reads it (undefined: none, or not a number). */
export function finalNumber(reply: string, spec: AnswerSpec): number | undefined {
  const final = finalAnswer(reply, spec)
  const value = final === undefined ? undefined : numericValue(normalizeLatex(final))
  const n = value === undefined ? Number.NaN : Number(value)
  return Number.isFinite(n) ? n : undefined
}

export function mathsEvidence(text: string, finalValue: number | undefined): MathsEvidence {
  const check = checkArithmetic(text)
  const follows = followsFromChain(check, finalValue)
  return { checked: check.checked, failed: check.failed.length, follows: follows === undefined ? -1 : follows ? 1 : 0, ...(check.lastValue === undefined ? {} : { last: check.lastValue }), ...(finalValue === undefined ? {} : { final: finalValue }) }
}

/**
 * Which of two answers with different final answers the evidence favours: the one whose stated
 * arithmetic holds and leads to its final answer, over one with a wrong stated computation; failing
 * that, the answer the other chain itself computed last before stating something else (its own
 * work supports it). Undefined: the evidence does not tell them apart (the judge's model decides).
 *
 * Measured on the recorded right-vs-wrong pairs (README, "Judges that check"): deciding on a wrong
 * computation alone was right 93.5 % of the time on gsm but 69.7 % on math-l5 (LaTeX the checker
 * misreads), and since every judge's tool decides alike its mistakes do not average out: the
 * replayed math-l5 swarm lost 4.4 points. Asking that the clean chain also lead to its answer
 * (84 % right on math-l5) took that loss away; the cross rule raised the gsm judge from 64 % to 66 %.
 * "The final answer is not what its own chain computed last" alone is weaker (it holds for 9 % of
 * right gsm chains) and cost the gsm swarm 2.4 points, so it does not decide by itself.
 */
export function evidenceFavours(first: MathsEvidence, second: MathsEvidence): 'A' | 'B' | undefined {
  // A wrong stated computation decides only against a chain whose arithmetic holds and leads to
  // its answer (what it computed last is its final answer).
  if ((first.failed === 0) !== (second.failed === 0) && (first.failed === 0 ? first : second).follows === 1) return first.failed === 0 ? 'A' : 'B'
  // One chain computed the other's final answer last and then stated something else: its own work
  // supports the other answer.
  if (near(first.final, second.final)) return undefined
  const firstSupportsSecond = near(first.last, second.final) && !near(first.last, first.final)
  const secondSupportsFirst = near(second.last, first.final) && !near(second.last, second.final)
  if (firstSupportsSecond !== secondSupportsFirst) return secondSupportsFirst ? 'A' : 'B'
  return undefined
}

function near(x: number | undefined, y: number | undefined): boolean {
  return x !== undefined && y !== undefined && Math.abs(x - y) <= 0.005 * Math.max(1, Math.abs(y))
}

interface Side {
  value: number
  /** Whether the side holds an operation (a bare number states a result). */
  operated: boolean
  /** Decimals written in a bare number (a rounded result is right to those). */
  decimals: number
  /** A percentage written as such ("25%"): right as 25 or as 0.25. */
  percent: boolean
}

/** Equal to the rounding the stated number shows (10/3 = 3.33 is right), or within 1 % where the text says ≈. */
function agrees(computed: number, stated: Side, approx: boolean): boolean {
  const candidates = stated.percent ? [stated.value, stated.value / 100] : [stated.value]
  return candidates.some((s) => {
    const diff = Math.abs(computed - s)
    if (approx) return diff <= 0.01 * Math.max(Math.abs(s), 1e-9) + 0.5 * 10 ** -stated.decimals
    return diff <= 0.5 * 10 ** -stated.decimals + 1e-9 * Math.max(1, Math.abs(computed))
  })
}

/** Sentences and clauses: a claim never spans one of these. */
function sentences(text: string): string[] {
  return text.split(/(?<![0-9])\.(?![0-9])|\.(?=\s)|[;:\n!?]|,(?![0-9]{3}(?![0-9]))|\b(?:so|then|thus|therefore|hence|or|if|where|since|because|when|which|implies|gives|get|gets)\b|\band\b(?=\s+[a-z])/i)
}

/** LaTeX arithmetic as plain symbols: \frac{a}{b}, \times, \cdot, \div, braces, $…$ and \( \). */
function delatex(text: string): string {
  // Exponent and subscript groups keep their grouping: 60^{12/2} is 60^(12/2).
  let t = text.replace(/\^\s*\{([^{}]*)\}/g, '^($1)')
  for (let i = 0; i < 4 && /\\[dt]?frac/.test(t); i++) t = t.replace(/\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}/g, '(($1)/($2))')
  return (
    t
      .replace(/\\times|\\cdot|⋅|·/g, '*')
      .replace(/\\div/g, '/')
      .replace(/\\left|\\right|\\[,;!]|\\\(|\\\)|\\\[|\\\]/g, ' ')
      .replace(/\\approx/g, '≈')
      .replace(/\\\$/g, '$')
      // Any other command (\sqrt, \text, \quad, \implies …) is something the checker does not read.
      // (Glued to what follows: "\sigma(198)" applies a function to 198, it does not state 198.)
      .replace(/\\[A-Za-z]+/g, ' ¦')
      .replace(/[{}]/g, ' ')
      .replace(/\$(?![0-9.])/g, ' ')
      // Markdown emphasis is not multiplication.
      .replace(/\*\*|__/g, ' ')
  )
}

/** `spaced`: whitespace (or nothing) stood before it, so it is not glued to what precedes ("2b", "x_1"). */
type Token = ({ kind: 'num'; value: number; decimals: number; percent: boolean } | { kind: 'op'; op: string } | { kind: 'paren'; open: boolean } | { kind: 'stop' }) & { spaced?: boolean }

const NUMBER = /^-?\$?\s*(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?%?/
/** A word, with its hyphen or slash compounds ("eggs/day", "half-price"). */
const WORD = /^[A-Za-z][A-Za-z'’]*(?:[-/][A-Za-z][A-Za-z'’]*)*/

/**
 * Tokens of one side: numbers (currency signs and thousands commas read, `%` kept), operators and
 * parentheses; unit words between them ("9 eggs * $2 per egg") are dropped, and a parenthesis that
 * holds only words ("(purchase price)") too. Anything else is a stop no expression crosses.
 */
function tokens(side: string): Token[] {
  let s = side.replace(/[−–]/g, '-')
  for (const [re, op] of WORD_OPS) s = s.replace(re, ` ${op} `)
  // "(purchase price)" is prose: gone; "(first 4 days)" is prose with a number in it: a stop.
  s = s.replace(/\(([^()0-9]*)\)/g, ' ').replace(/\([^()]*[A-Za-z][^()]*\)/g, ' ¦ ')
  const tokens: Token[] = []
  // Words dropped since the last token ("2 cups of dog food": that "of" is prose). One is a unit
  // ("9 eggs * $2"); two or more are prose, which no expression crosses.
  let words = 0
  let dropped = false
  const out = {
    push(t: Token) {
      if (t.kind !== 'stop' && words >= 2 && tokens.at(-1)?.kind === 'num') tokens.push({ kind: 'stop', spaced: true })
      tokens.push(t)
      words = 0
    },
    at: (k: number) => tokens.at(k),
    get length() {
      return tokens.length
    },
  }
  let i = 0
  while (i < s.length) {
    const c = s[i]!
    if (/\s/.test(c)) {
      i++
      continue
    }
    const rest = s.slice(i)
    const before = s[i - 1] ?? ' '
    const spaced = /\s/.test(before)
    // "400-meter": a hyphen that joins a number to a word is part of the word.
    if (c === '-' && /^-[A-Za-z]/.test(rest) && /[\d%]/.test(before)) {
      i++
      continue
    }
    const unary = c === '-' && (out.length === 0 || out.at(-1)!.kind === 'op' || out.at(-1)!.kind === 'stop' || (out.at(-1)!.kind === 'paren' && (out.at(-1) as { open: boolean }).open))
    // A dash that starts a side and stands apart is a list bullet ("- 100 riders * 25%"), not a minus.
    if (unary && /^-\s/.test(rest) && (out.length === 0 || out.at(-1)!.kind === 'stop')) {
      out.push({ kind: 'stop' })
      i++
      continue
    }
    const m = (c !== '-' || unary) && NUMBER.exec(rest)
    if (m) {
      const raw = m[0]
      const digits = raw.replace(/[$,%\s]/g, '')
      const value = Number(digits)
      if (!Number.isFinite(value)) {
        out.push({ kind: 'stop', spaced })
        i += raw.length
        continue
      }
      out.push({ kind: 'num', value, decimals: /\.(\d+)/.exec(digits)?.[1]!.length ?? 0, percent: raw.endsWith('%'), spaced })
      dropped = false
      i += raw.length
      continue
    }
    // `x` is multiplication only between two numbers ("3 x 60"); elsewhere it starts a word.
    const times = /[xX]/.test(c) && out.at(-1)?.kind === 'num' && /^[xX]\s*[$(\d]/.test(rest)
    if (/[+\-*/×÷^]/.test(c) || times) {
      out.push({ kind: 'op', op: c === '×' || times ? '*' : c === '÷' ? '/' : c })
      dropped = false
      i++
      continue
    }
    if (c === '(' || c === ')') {
      // "$100 (2 x 4 x 10)": a parenthesis right after a number annotates it; no claim crosses it.
      // "((503)/(2))(46 + …)": a parenthesis right after another multiplies; the checker leaves it.
      const prev = out.at(-1)
      const annotation = c === '(' && ((prev?.kind === 'num' && !dropped) || (prev?.kind === 'paren' && !prev.open))
      out.push(annotation ? { kind: 'stop' } : { kind: 'paren', open: c === '(' })
      dropped = false
      i++
      continue
    }
    const word = WORD.exec(rest)?.[0]
    if (word !== undefined) {
      const after = s[i + word.length] ?? ' '
      // Algebra, not units: a lone letter ("x", "q"), a coefficient's variable ("7x", "(2/3)x"),
      // an identifier or a function ("speed1", "f(4)"). The checker does not solve equations.
      const variable = (word.length === 1 && !/^[aAI]$/.test(word)) || /[\d)]/.test(before) || /[\d(_^]/.test(after)
      if (variable) out.push({ kind: 'stop', spaced })
      // "of" right after a percentage or a fraction multiplies ("25% of 80", "1/4 of 20").
      else if (word.toLowerCase() === 'of' && out.at(-1)?.kind === 'num' && !dropped) out.push({ kind: 'op', op: '*' })
      else {
        dropped = true
        words++
      }
      i += word.length
      continue
    }
    if (c === '$') {
      i++
      continue
    }
    // Punctuation ends what it follows; anything else glued on ("2√6", "2[f", "x_1") joins it.
    out.push({ kind: 'stop', spaced: spaced || /[.,;:!?"'`\]}>]/.test(c) })
    i++
  }
  return tokens
}

/** The arithmetic expression that ends a side (the prose before it dropped). */
function tailExpression(side: string): Side | undefined {
  const all = tokens(side)
  const t = all.slice(all.findLastIndex((x) => x.kind === 'stop') + 1)
  // The longest suffix that parses as one expression and is not the end of a longer one the
  // checker cannot read ("2x + 15 - 5": not 15 - 5).
  for (let start = 0; start < t.length; start++) {
    if (start > 0 && (t[start - 1]!.kind !== 'num' || t[start]!.kind === 'op')) continue
    const parsed = parse(t.slice(start))
    // Right after a stop it must not be glued to it ("x_1^2", "\sigma(198)") or begin mid-expression.
    if (parsed !== undefined) return start === 0 && all.length > t.length && (t[0]!.kind === 'op' || t[0]!.spaced === false) ? undefined : parsed
  }
  return undefined
}

/**
 * The arithmetic expression that starts a side (the prose after it dropped), not the start of a
 * longer one ("2 * S": not 2). `whole`: the side must be that expression and nothing more.
 */
function headExpression(side: string, whole = false): Side | undefined {
  const all = tokens(side)
  if (whole) return all.some((x) => x.kind === 'stop') ? undefined : parse(all)
  const stop = all.findIndex((x) => x.kind === 'stop')
  const t = stop < 0 ? all : all.slice(0, stop)
  for (let end = t.length; end > 0; end--) {
    const next = all[end]
    // What follows must end it: not an operator, and not a stop glued to it ("-2b", "2√6", "2[f(…)]").
    if (next !== undefined && ((next.kind !== 'num' && next.kind !== 'stop') || (next.kind === 'stop' && next.spaced === false))) continue
    const parsed = parse(t.slice(0, end))
    if (parsed !== undefined) return parsed
  }
  return undefined
}

/** Longer than any claim a chain states; it also bounds the recursion ("((((…" or "- - - …" from a hostile answer). */
const MAX_EXPRESSION_TOKENS = 256

/** Recursive descent over + − × ÷ and parentheses; undefined unless all tokens form one expression. */
function parse(ts: readonly Token[]): Side | undefined {
  if (ts.length === 0 || ts.length > MAX_EXPRESSION_TOKENS) return undefined
  let i = 0
  let operated = false
  const expr = (): number | undefined => {
    let v = term()
    while (v !== undefined && i < ts.length && ts[i]!.kind === 'op' && /[+-]/.test((ts[i] as { op: string }).op)) {
      const op = (ts[i++] as { op: string }).op
      const r = term()
      if (r === undefined) return undefined
      operated = true
      v = op === '+' ? v + r : v - r
    }
    return v
  }
  const term = (): number | undefined => {
    let v = power()
    while (v !== undefined && i < ts.length && ts[i]!.kind === 'op' && /[*/]/.test((ts[i] as { op: string }).op)) {
      const op = (ts[i++] as { op: string }).op
      const r = power()
      if (r === undefined) return undefined
      operated = true
      v = op === '*' ? v * r : r === 0 ? undefined : v / r
    }
    return v
  }
  // Exponents bind tightest and to the right (2^3^2 = 2^9); small ones only, so no claim overflows.
  const power = (): number | undefined => {
    const base = factor()
    if (base === undefined || !(i < ts.length && ts[i]!.kind === 'op' && (ts[i] as { op: string }).op === '^')) return base
    i++
    const exp = power()
    if (exp === undefined || Math.abs(exp) > 64) return undefined
    operated = true
    return base ** exp
  }
  const factor = (): number | undefined => {
    const t = ts[i]
    if (t === undefined) return undefined
    if (t.kind === 'op' && t.op === '-') {
      i++
      const v = factor()
      return v === undefined ? undefined : -v
    }
    if (t.kind === 'num') {
      i++
      // A percentage inside an operation is a share ("50 * 20%").
      return t.percent && ts.length > 1 ? t.value / 100 : t.value
    }
    if (t.kind === 'paren' && t.open) {
      i++
      const v = expr()
      const close = ts[i]
      if (v === undefined || close?.kind !== 'paren' || close.open) return undefined
      i++
      return v
    }
    return undefined
  }
  const value = expr()
  if (value === undefined || i !== ts.length || !Number.isFinite(value)) return undefined
  const only = ts.length === 1 && ts[0]!.kind === 'num' ? ts[0] : undefined
  return { value, operated, decimals: only?.decimals ?? 12, percent: only?.percent ?? false }
}
