import { readFile } from 'node:fs/promises'
import { ConfigError } from './modelSpec.js'

/** Reads a command's JSON config file: an object whose keys are all among `allowed`, or a clear error. */
export async function readJsonConfig(path: string, allowed: readonly string[]): Promise<Record<string, unknown>> {
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
  for (const k of Object.keys(parsed)) if (!allowed.includes(k)) throw new ConfigError(`config ${path}: unknown setting '${k}'`)
  return parsed as Record<string, unknown>
}
