/**
 * Canonical JSON (the RFC 8785 subset Chorus needs): object keys sorted by UTF-16 code units, no
 * whitespace, strings escaped as ECMAScript's JSON.stringify does, and numbers restricted to safe
 * integers. Signed bodies never carry floats, so one value has exactly one byte string.
 */
export class CanonicalEncodingError extends Error {
  readonly code = 'CANONICAL_ENCODING'
}

export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isSafeInteger(value)) throw new CanonicalEncodingError(`not a safe integer: ${value}`)
      return Object.is(value, -0) ? '0' : String(value)
    case 'object': {
      if (value === null) return 'null'
      if (Array.isArray(value)) {
        let out = '['
        for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i])
        return out + ']'
      }
      const obj = value as Record<string, unknown>
      const keys = Object.keys(obj).sort()
      let out = '{'
      let first = true
      for (const k of keys) {
        const v = obj[k]
        if (v === undefined) continue
        out += (first ? '' : ',') + JSON.stringify(k) + ':' + canonicalJson(v)
        first = false
      }
      return out + '}'
    }
    default:
      throw new CanonicalEncodingError(`cannot encode a ${typeof value}`)
  }
}
