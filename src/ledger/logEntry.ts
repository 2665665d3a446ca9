import { hashParts } from '../crypto/hash.js'
import { type Identity, SignatureVerifier, signBytes } from '../crypto/identity.js'
import type { LogEntry } from './ledger.js'

/**
 * One link of the ledger's log: hash = H(prev ‖ seq ‖ at ‖ kind ‖ body), signed by the operator.
 * Changing, dropping, inserting or reordering any entry breaks every hash after it; forging one
 * needs the operator's key. The first entry's `prev` is LOG_ROOT.
 */
export const LOG_ROOT = hashParts('chorus/ledger/v1/root')

export function entryHash(prev: string, seq: number, at: number, kind: string, body: string): string {
  return hashParts('ledger-entry', prev, String(seq), String(at), kind, body)
}

export function signEntry(operator: Identity, e: Omit<LogEntry, 'hash' | 'sig'>): LogEntry {
  const hash = entryHash(e.prev, e.seq, e.at, e.kind, e.body)
  return { ...e, hash, sig: signBytes(operator, Buffer.from(hash, 'hex')) }
}

const verifier = new SignatureVerifier()

/** Why `e` does not follow `prev` under `operator`'s key, or undefined if it does. */
export function entryProblem(e: LogEntry, prev: string, seq: number, operator: string): string | undefined {
  if (e.seq !== seq) return `entry ${seq} has seq ${e.seq}`
  if (e.prev !== prev) return `entry ${seq} does not follow the entry before it`
  if (e.hash !== entryHash(e.prev, e.seq, e.at, e.kind, e.body)) return `entry ${seq}'s hash does not match its content`
  if (!verifier.verify(operator, Buffer.from(e.hash, 'hex'), e.sig)) return `entry ${seq} is not signed by the ledger operator`
  return undefined
}
