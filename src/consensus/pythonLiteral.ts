/**
 * Python literals (what `ast.literal_eval` takes: strings, numbers, True/False/None, lists, tuples,
 * sets and dicts), parsed to a canonical key that compares them by type and value: a tuple is not
 * a list, 1 is not 1.0 and neither is True, dict and set order does not count, and a string keeps
 * every character — its whitespace and case included. Benchmarks whose answers are values (CRUXEval's
 * "the output of f(...)") state their gold this way, and models write it with either quote.
 */
export class LiteralError extends Error {}

/** The canonical key of a Python literal, or undefined when `text` is not one. */
export function literalKey(text: string): string | undefined {
  try {
    const p = new Parser(text)
    const key = p.value()
    p.space()
    return p.done() ? key : undefined
  } catch (err) {
    if (err instanceof LiteralError) return undefined
    throw err
  }
}

/** The key of a string value, as `literalKey` gives a quoted one. */
export function stringKey(s: string): string {
  return `str:${JSON.stringify(s)}`
}

const MAX_DEPTH = 64

class Parser {
  private at = 0
  private depth = 0

  constructor(private readonly s: string) {}

  done(): boolean {
    return this.at === this.s.length
  }

  space(): void {
    while (this.at < this.s.length && /\s/.test(this.s[this.at]!)) this.at++
  }

  value(): string {
    this.space()
    const c = this.s[this.at]
    if (c === undefined) throw new LiteralError('end of text')
    if (c === '[') return this.nested(() => this.list())
    if (c === '(') return this.nested(() => this.tuple())
    if (c === '{') return this.nested(() => this.braces())
    if (c === "'" || c === '"') return this.strings()
    if (/[rRbBuUfF]/.test(c) && /^[rRbBuU]{1,2}['"]/.test(this.s.slice(this.at, this.at + 3))) return this.strings()
    const empty = /^set\(\s*\)/.exec(this.s.slice(this.at))
    if (empty) {
      this.at += empty[0].length
      return 'set{}'
    }
    const word = /^(True|False|None)\b/.exec(this.s.slice(this.at))
    if (word) {
      this.at += word[1]!.length
      return word[1] === 'None' ? 'None' : `bool:${word[1]}`
    }
    return this.number()
  }

  private nested(read: () => string): string {
    if (++this.depth > MAX_DEPTH) throw new LiteralError('nested too deep')
    try {
      return read()
    } finally {
      this.depth--
    }
  }

  /** The rest of a bracketed sequence after `out` (its opener and the items read already), to `close`; a trailing comma allowed. */
  private rest(close: string, out: string[]): string[] {
    for (;;) {
      this.space()
      if (this.s[this.at] === close) {
        this.at++
        return out
      }
      if (out.length > 0) {
        if (this.s[this.at] !== ',') throw new LiteralError(`expected , or ${close}`)
        this.at++
        this.space()
        if (this.s[this.at] === close) {
          this.at++
          return out
        }
      }
      out.push(this.value())
    }
  }

  private list(): string {
    this.at++
    return `list[${this.rest(']', []).join(',')}]`
  }

  private tuple(): string {
    const start = this.at++
    const items = this.rest(')', [])
    // (x) is x; (x,) and () are tuples.
    if (items.length === 1 && !/,\s*\)$/.test(this.s.slice(start, this.at))) return items[0]!
    return `tuple(${items.join(',')})`
  }

  private braces(): string {
    this.at++
    this.space()
    if (this.s[this.at] === '}') {
      this.at++
      return 'dict{}'
    }
    const first = this.value()
    this.space()
    if (this.s[this.at] !== ':') return `set{${[...new Set(this.rest('}', [first]))].sort().join(',')}}`
    const entries = new Map<string, string>()
    let key = first
    for (;;) {
      this.at++ // past ':'
      entries.set(key, this.value())
      this.space()
      if (this.s[this.at] === ',') {
        this.at++
        this.space()
      } else if (this.s[this.at] !== '}') throw new LiteralError('expected , or }')
      if (this.s[this.at] === '}') {
        this.at++
        break
      }
      key = this.value()
      this.space()
      if (this.s[this.at] !== ':') throw new LiteralError('expected :')
    }
    const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `dict{${sorted.map(([k, v]) => `${k}:${v}`).join(',')}}`
  }

  /** One string literal, or several side by side ('a' 'b' is 'ab'). */
  private strings(): string {
    let value = ''
    let bytes: boolean | undefined
    for (;;) {
      const prefix = /^[rRbBuU]{0,2}(?=['"])/.exec(this.s.slice(this.at))
      if (prefix === null) break
      const p = prefix[0].toLowerCase()
      const isBytes = p.includes('b')
      if (bytes !== undefined && bytes !== isBytes) throw new LiteralError('bytes beside str')
      bytes = isBytes
      this.at += p.length
      value += this.string(p.includes('r'))
      this.space()
    }
    return bytes ? `bytes:${JSON.stringify(value)}` : stringKey(value)
  }

  private string(raw: boolean): string {
    const q = this.s[this.at]!
    const triple = this.s.startsWith(q.repeat(3), this.at)
    const close = triple ? q.repeat(3) : q
    this.at += close.length
    let out = ''
    for (;;) {
      if (this.at >= this.s.length) throw new LiteralError('unterminated string')
      if (this.s.startsWith(close, this.at)) {
        this.at += close.length
        return out
      }
      const c = this.s[this.at]!
      if (c === '\n' && !triple) throw new LiteralError('newline in a string')
      if (c !== '\\') {
        out += c
        this.at++
        continue
      }
      const n = this.s[this.at + 1]
      if (n === undefined) throw new LiteralError('unterminated string')
      if (raw) {
        out += c + n
        this.at += 2
        continue
      }
      this.at += 2
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0', '\n': '' }
      if (n in simple) out += simple[n]
      else if (n === 'x' || n === 'u' || n === 'U') {
        const len = n === 'x' ? 2 : n === 'u' ? 4 : 8
        const hex = this.s.slice(this.at, this.at + len)
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) throw new LiteralError('bad escape')
        out += String.fromCodePoint(Number.parseInt(hex, 16))
        this.at += len
      } else out += `\\${n}`
    }
  }

  private number(): string {
    const m = /^([+-]?)\s*(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*(?:\.(?:\d[\d_]*)?)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)(j|J)?/.exec(this.s.slice(this.at))
    if (m === null || m[2] === undefined || m[2] === '') throw new LiteralError('not a value')
    this.at += m[0].length
    const sign = m[1] === '-' ? '-' : ''
    const body = m[2]!.replace(/_/g, '')
    if (m[3]) return `complex:${sign}${Number(body)}`
    if (/^0[xob]/i.test(body)) return `int:${sign === '-' ? -BigInt(body) : BigInt(body)}`
    if (/[.eE]/.test(body)) {
      const v = Number(`${sign}${body}`)
      return `float:${Object.is(v, -0) ? '-0.0' : String(v)}`
    }
    if (!/^\d+$/.test(body) || (body.length > 1 && body.startsWith('0') && /[1-9]/.test(body))) throw new LiteralError('not a number')
    const v = BigInt(body)
    return `int:${sign === '-' ? -v : v}`
  }
}
