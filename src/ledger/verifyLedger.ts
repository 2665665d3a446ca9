import { LedgerError, type LogEntry } from './ledger.js'
import { SqliteLedger } from './sqliteLedger.js'

/**
 * `chorus ledger verify`: rebuilds a ledger from its log alone and checks it against the file.
 * Every entry must follow the one before it (hash chain) under the operator's signature, and must
 * apply: each settlement's transcript is verified and its outcome recomputed again, each request's
 * signature and nonce checked again. The rebuilt state must equal the file's state table for
 * table, and the money held must equal the money the faucet created less the fees forfeited.
 *
 * Settlements' signatures are checked on worker threads, a batch of entries ahead of the replay
 * (which applies them strictly in order, so the first bad entry is the one reported).
 */
export interface LedgerVerification {
  entries: number
  head: string
  operator: string
  settlements: number
}

const BATCH = 200

export async function verifyLedger(path: string, onProgress?: (done: number) => void): Promise<LedgerVerification> {
  const file = SqliteLedger.readOnly(path)
  const replica = SqliteLedger.forReplay()
  try {
    const operator = file.operatorId()
    if (operator === undefined) throw new LedgerError('CORRUPT', 'the ledger has no genesis entry')
    let seq = 1
    let settlements = 0
    for (;;) {
      const batch = file.entries(seq, BATCH)
      if (batch.length === 0) break
      // Each settlement's body is parsed once: for the rules check and to open its envelopes ahead.
      const transcripts = batch.map(transcriptOf)
      const ahead = transcripts.map((t) => (t === undefined || predatesRules(t) ? undefined : replica.prepare(t).catch(() => undefined)))
      for (let i = 0; i < batch.length; i++) {
        const e = batch[i]!
        const t = transcripts[i]
        if (t !== undefined && predatesRules(t)) {
          throw new LedgerError('CORRUPT', `entry ${e.seq} settles a round signed before rounds carried their rules version (Chorus before December 2026); this Chorus cannot recompute it. Keep that ledger with the Chorus that wrote it, or start a new one (move .chorus/ledger.sqlite away)`)
        }
        replica.replay(e, operator, ahead[i] === undefined ? undefined : await ahead[i])
        if (e.kind === 'settle') settlements++
      }
      seq += batch.length
      onProgress?.(seq - 1)
    }
    if (replica.head() !== file.head()) throw new LedgerError('CORRUPT', 'the log ends before the head the file records')
    if (replica.stateDigest() !== file.stateDigest()) throw new LedgerError('CORRUPT', "the file's state differs from the state its log rebuilds")
    const { held, created, destroyed, released } = file.supply()
    const counted = file.counted()
    if (counted !== created - destroyed - released || held !== counted) throw new LedgerError('CORRUPT', `accounts hold ${counted} micro-units (running total ${held}) but ${created} were created, ${destroyed} forfeited and ${released} released to a custody chain`)
    return { entries: seq - 1, head: file.head(), operator, settlements }
  } finally {
    file.close()
    replica.close()
  }
}

/** Whether a settlement's round was signed before Queries named their rules (it cannot be recomputed now). */
function predatesRules(transcript: readonly unknown[]): boolean {
  const query = transcript[0] as { body?: { rules?: unknown } } | undefined
  return query?.body !== undefined && query.body.rules === undefined
}

/**
 * A settlement entry's transcript, for opening its envelopes ahead of the replay. Anything unreadable
 * is left to the replay, which fails with the reason in its turn (an earlier entry's fault is
 * reported first).
 */
function transcriptOf(e: LogEntry): unknown[] | undefined {
  if (e.kind !== 'settle') return undefined
  try {
    const transcript = (JSON.parse(e.body) as { transcript?: unknown }).transcript
    return Array.isArray(transcript) ? transcript : undefined
  } catch {
    return undefined
  }
}
