/**
 * Canonical JSON (the RFC 8785 subset Chorus needs): object keys sorted by UTF-16 code units, no
 * whitespace, strings escaped as ECMAScript's JSON.stringify does, and numbers restricted to safe
 * integers. Signed bodies never carry floats, so one value has exactly one byte string.
 */
export class CanonicalEncodingError extends Error {
  readonly code = 'CANONICAL_ENCODING'
}

/**
 * Most values met here are already in canonical shape (parsed from canonical bytes, so their keys
 * are sorted): for those the native JSON.stringify writes exactly the canonical bytes, about five
 * times faster than building the string piece by piece. A walk decides which path a value takes.
 */
export function canonicalJson(value: unknown): string {
  return isStringifyReady(value) ? JSON.stringify(value) : encode(value)
}

/**
 * Whether JSON.stringify(value) is already canonical: plain objects whose keys are in order and
 * hold no undefined, arrays without holes or undefined, safe integers other than −0, strings,
 * booleans and null. Anything else (a Date, a class instance, a float) takes the careful path,
 * which encodes it or says why not.
 */
function isStringifyReady(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true
    case 'number':
      return Number.isSafeInteger(value) && !Object.is(value, -0)
    case 'object': {
      if (value === null) return true
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!isStringifyReady(value[i])) return false
        return true
      }
      const proto = Object.getPrototypeOf(value) as unknown
      if (proto !== Object.prototype && proto !== null) return false
      const obj = value as Record<string, unknown>
      let prev: string | undefined
      for (const k in obj) {
        if (prev !== undefined && !(prev < k)) return false
        const v = obj[k]
        if (v === undefined || !isStringifyReady(v)) return false
        prev = k
      }
      return true
    }
    default:
      return false
  }
}

function encode(value: unknown): string {
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
