import { isLowerHex } from '../crypto/hex.js'
import { ProtocolError } from './errors.js'

/**
 * Minimal structural checks for decoded JSON. Each check returns the value typed or throws a
 * SCHEMA ProtocolError naming the path. Objects are closed: unknown keys are rejected, so a signed
 * body never carries a field nobody checked.
 */
export type Check<T> = (value: unknown, path: string) => T

const fail = (path: string, what: string): never => {
  throw new ProtocolError('SCHEMA', `${path}: ${what}`)
}

export const str =
  (max: number, pattern?: RegExp): Check<string> =>
  (v, path) => {
    if (typeof v !== 'string') return fail(path, 'expected a string')
    if (v.length > max) return fail(path, `longer than ${max} characters`)
    if (pattern !== undefined && !pattern.test(v)) return fail(path, `does not match ${pattern}`)
    return v
  }

export const int =
  (min: number, max: number): Check<number> =>
  (v, path) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) return fail(path, 'expected an integer')
    if (v < min || v > max) return fail(path, `outside ${min}..${max}`)
    return v
  }

export const bool: Check<boolean> = (v, path) =>
  typeof v === 'boolean' ? v : fail(path, 'expected a boolean')

export const oneOf =
  <T extends string>(...values: T[]): Check<T> =>
  (v, path) =>
    values.includes(v as T) ? (v as T) : fail(path, `expected one of ${values.join(', ')}`)

export const arr =
  <T>(item: Check<T>, max: number): Check<T[]> =>
  (v, path) => {
    if (!Array.isArray(v)) return fail(path, 'expected an array')
    if (v.length > max) return fail(path, `more than ${max} items`)
    const out: T[] = new Array(v.length)
    for (let i = 0; i < v.length; i++) out[i] = item(v[i], `${path}[${i}]`)
    return out
  }

type Shape = Record<string, Check<unknown>>
export type Infer<S extends Shape> = { [K in keyof S]: ReturnType<S[K]> }

export const obj =
  <S extends Shape>(shape: S): Check<Infer<S>> =>
  (v, path) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(path, 'expected an object')
    const rec = v as Record<string, unknown>
    // Keys must be known and in canonical (sorted) order: with that, a message is canonical iff
    // JSON.stringify reproduces its text, which is far cheaper than re-encoding it.
    let prev = ''
    for (const k in rec) {
      if (!(k in shape)) fail(`${path}.${k}`, 'unknown field')
      if (k <= prev) fail(`${path}.${k}`, 'keys not in canonical order')
      prev = k
    }
    const out: Record<string, unknown> = {}
    for (const k in shape) {
      if (!(k in rec)) fail(`${path}.${k}`, 'missing')
      out[k] = shape[k]!(rec[k], `${path}.${k}`)
    }
    return out as Infer<S>
  }


export const hex32: Check<string> = (v, path) =>
  typeof v === 'string' && isLowerHex(v, 64) ? v : fail(path, 'expected 32 bytes of lowercase hex')
export const nodeId = hex32
/** Non-negative integer amount in micro-units, as a decimal string (bigint-safe). */
export const amount = str(30, /^(0|[1-9][0-9]*)$/)
