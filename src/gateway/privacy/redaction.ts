/**
 * The gateway's privacy pre-processor: before a Query is signed and broadcast, personal data in
 * the client's messages is replaced by placeholders (⟦EMAIL_1⟧, ⟦PHONE_1⟧, ⟦CARD_1⟧, ⟦IBAN_1⟧,
 * ⟦PRIVATE_1⟧ for the operator's own patterns), and the answer the client receives has them put
 * back. No node sees the values; the client never sees a placeholder that stood for its data.
 *
 * Found by shape and checked where a check exists, so ordinary numbers are left alone: card numbers
 * must pass the Luhn check, IBANs the ISO 13616 mod-97 check; a phone number needs 8–15 digits and
 * a leading + or a grouping that only phone numbers have. The same value gets the same placeholder
 * everywhere in the request, so a model can still refer to it.
 */
export type RedactionKind = 'EMAIL' | 'PHONE' | 'CARD' | 'IBAN' | 'PRIVATE'

export interface Redaction {
  /** Placeholder → the value it stands for (held by the gateway only, for the request's life). */
  values: Map<string, string>
  counts: Partial<Record<RedactionKind, number>>
}

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g
const IBAN = /\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b/g
const CARD = /\b\d(?:[ -]?\d){12,18}\b/g
const PHONE = /(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}\b|\+\d{8,15}\b/g

const digits = (s: string) => s.replace(/\D/g, '')

export function luhn(number: string): boolean {
  const d = digits(number)
  if (d.length < 13 || d.length > 19) return false
  let sum = 0
  for (let i = 0; i < d.length; i++) {
    let x = Number(d[d.length - 1 - i])
    if (i % 2 === 1) x = x * 2 > 9 ? x * 2 - 9 : x * 2
    sum += x
  }
  return sum % 10 === 0
}

export function ibanValid(iban: string): boolean {
  const s = iban.replace(/ /g, '')
  if (s.length < 15 || s.length > 34) return false
  const moved = s.slice(4) + s.slice(0, 4)
  let rem = 0
  for (const c of moved) {
    const v = /\d/.test(c) ? c : String(c.charCodeAt(0) - 55)
    for (const ch of v) rem = (rem * 10 + Number(ch)) % 97
  }
  return rem === 1
}

function looksLikePhone(match: string): boolean {
  const n = digits(match).length
  if (n < 8 || n > 15) return false
  // Dates are grouped numbers too (2024-05-17, 17.05.2024).
  if (/^\d{4}[./-]\d{1,2}[./-]\d{1,2}$|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$/.test(match.trim())) return false
  // A leading +, parenthesised area code, or at least two separators: not a plain number or a date.
  return match.trim().startsWith('+') || /\(\d+\)/.test(match) || (match.match(/[ .-]/g)?.length ?? 0) >= 2
}

export class Redactor {
  constructor(private readonly patterns: readonly RegExp[] = []) {}

  /** The texts with personal data replaced, and what each placeholder stands for. */
  redact(texts: readonly string[]): { texts: string[]; redaction: Redaction } {
    const values = new Map<string, string>()
    const byValue = new Map<string, string>()
    const counts: Redaction['counts'] = {}
    const place = (kind: RedactionKind, value: string): string => {
      const known = byValue.get(`${kind}:${value}`)
      if (known !== undefined) return known
      counts[kind] = (counts[kind] ?? 0) + 1
      const p = `⟦${kind}_${counts[kind]}⟧`
      values.set(p, value)
      byValue.set(`${kind}:${value}`, p)
      return p
    }
    const out = texts.map((t) => {
      let s = t.replace(EMAIL, (m) => place('EMAIL', m))
      s = s.replace(IBAN, (m) => (ibanValid(m) ? place('IBAN', m) : m))
      s = s.replace(CARD, (m) => (luhn(m) ? place('CARD', m) : m))
      s = s.replace(PHONE, (m) => (looksLikePhone(m) ? place('PHONE', m) : m))
      for (const re of this.patterns) s = s.replace(new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`), (m) => place('PRIVATE', m))
      return s
    })
    return { texts: out, redaction: { values, counts } }
  }

  /** The answer with every placeholder of this request put back (others are left as written). */
  static restore(text: string, redaction: Redaction): string {
    return text.replace(/⟦(EMAIL|PHONE|CARD|IBAN|PRIVATE)_(\d+)⟧/g, (m) => redaction.values.get(m) ?? m)
  }
}
