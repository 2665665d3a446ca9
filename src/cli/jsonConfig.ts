import { readFile } from 'node:fs/promises'
import { ConfigError } from './modelSpec.js'

/** The JSON type each setting must have: a string, a number, a boolean, or a list of strings. */
export type SettingTypes = Record<string, 'string' | 'number' | 'boolean' | 'strings'>

/**
 * Reads a command's JSON config file: an object whose keys are all settings the command knows, each
 * of its type, or a clear error naming the setting. Comments (`// …` to the end of a line, outside
 * strings) are allowed, so `chorus init` can explain every setting in the file it writes.
 */
export async function readJsonConfig(path: string, settings: SettingTypes): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read config ${path}: ${(err as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(withoutComments(text))
  } catch (err) {
    throw new ConfigError(`config ${path} is not JSON: ${(err as Error).message}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`config ${path} must be a JSON object`)
  for (const [k, v] of Object.entries(parsed)) {
    if (!Object.hasOwn(settings, k)) throw new ConfigError(`config ${path}: unknown setting '${k}' (known: ${Object.keys(settings).join(', ')})`)
    const want = settings[k]!
    const ok = want === 'strings' ? Array.isArray(v) && v.every((x) => typeof x === 'string') : typeof v === want
    if (!ok) throw new ConfigError(`config ${path}: '${k}' must be ${want === 'strings' ? 'a list of strings' : `a ${want}`}`)
  }
  return parsed as Record<string, unknown>
}

/** The text with every `//` comment blanked out (strings, and the `//` inside them, are kept). */
export function withoutComments(text: string): string {
  let out = ''
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (inString) {
      out += c
      if (c === '\\') out += text[++i] ?? ''
      else if (c === '"') inString = false
    } else if (c === '"') {
      inString = true
      out += c
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++
      out += '\n'
    } else out += c
  }
  return out
}
