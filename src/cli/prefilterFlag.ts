import { ConfigError } from './modelSpec.js'

/**
 * `--prefilter on|off` for the commands that run nodes: whether each judge marks the answers that
 * are plainly no genuine attempt (empty, symbol soup, one token repeated, the question echoed), so
 * that rules-4 rounds leave them out and take their tickets. On by default; off on tiny generated
 * models, whose answers are random bytes that it would mark every time, leaving nothing ranked.
 */
export function prefilterOn(flag: unknown, tiny: boolean): boolean {
  if (flag === undefined) return !tiny
  if (flag === 'on' || flag === true) return true
  if (flag === 'off' || flag === false) return false
  throw new ConfigError(`--prefilter takes on or off, not ${String(flag)}`)
}

/** What to tell the user where the prefilter is off by default. */
export const PREFILTER_OFF_NOTE = 'GOOD/BAD prefilter off: tiny generated models answer in random bytes, which it would mark as no genuine attempt every time (--prefilter on to use it anyway).'
