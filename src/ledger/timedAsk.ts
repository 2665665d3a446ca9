import { canonicalJson } from '../crypto/canonical.js'
import { isLowerHex } from '../crypto/hex.js'
import { type Identity, SignatureVerifier, signBytes } from '../crypto/identity.js'
import { LedgerError } from './ledger.js'

/**
 * A key's signed, dated ask for something the ledger hands out (a calibration challenge, a hidden
 * calibration item): `{key, at, sig}`, signed under its own domain, good for a minute of the
 * ledger's clock. What each asks for is bounded per key (and a hidden item's ask must be newer than
 * the last one), so a copy replayed within the minute takes nothing more.
 */
export interface TimedAsk {
  key: string
  /** The asker's clock when it signed (ms). */
  at: number
  sig: string
}

export const ASK_WINDOW_MS = 60_000

const bytes = (domain: string, a: Pick<TimedAsk, 'key' | 'at'>) => Buffer.from(`chorus/ledger/v1/${domain}\n${canonicalJson({ at: a.at, key: a.key })}`, 'utf8')
const verifier = new SignatureVerifier()

export function signTimedAsk(domain: string, who: Identity, at: number): TimedAsk {
  return { key: who.id, at, sig: signBytes(who, bytes(domain, { key: who.id, at })) }
}

/** Its shape, its signature under `domain`, and its time; `what` names it in the errors. */
export function checkTimedAsk(domain: string, what: string, raw: unknown, now: number): TimedAsk {
  const a = raw as TimedAsk
  const ok = typeof a === 'object' && a !== null && Object.keys(a).sort().join(',') === 'at,key,sig' && typeof a.key === 'string' && isLowerHex(a.key, 64) && Number.isSafeInteger(a.at) && typeof a.sig === 'string' && isLowerHex(a.sig, 128)
  if (!ok) throw new LedgerError('BAD_REQUEST', `a ${what} is {key, at, sig}`)
  if (!verifier.verify(a.key, bytes(domain, a), a.sig)) throw new LedgerError('BAD_SIGNATURE', `the ${what} is not signed by its key`)
  if (Math.abs(now - a.at) > ASK_WINDOW_MS) throw new LedgerError('NOT_YET', `a ${what} must be used within a minute of when it was signed`)
  return { key: a.key, at: a.at, sig: a.sig }
}
