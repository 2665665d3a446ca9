import { readFile } from 'node:fs/promises'
import { ConfigError } from './modelSpec.js'

/** The JSON type each setting must have: a string, a number, a boolean, or a list of strings. */
export type SettingTypes = Record<string, 'string' | 'number' | 'boolean' | 'strings'>

/**
 * Reads a command's JSON config file: an object whose keys are all settings the command knows, each
 * of its type, or a clear error naming the setting.
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
    parsed = JSON.parse(text)
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
