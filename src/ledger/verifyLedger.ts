import { LedgerError } from './ledger.js'
import { SqliteLedger } from './sqliteLedger.js'

/**
 * `chorus ledger verify`: rebuilds a ledger from its log alone and checks it against the file.
 * Every entry must follow the one before it (hash chain) under the operator's signature, and must
 * apply: each settlement's transcript is verified and its outcome recomputed again, each request's
 * signature and nonce checked again. The rebuilt state must equal the file's state table for
 * table, and the money held must equal the money the faucet created.
 */
export interface LedgerVerification {
  entries: number
  head: string
  operator: string
  settlements: number
}

export function verifyLedger(path: string, onProgress?: (done: number) => void): LedgerVerification {
  const file = SqliteLedger.readOnly(path)
  const replica = SqliteLedger.forReplay()
  try {
    const operator = file.operatorId()
    if (operator === undefined) throw new LedgerError('CORRUPT', 'the ledger has no genesis entry')
    let seq = 1
    let settlements = 0
    for (;;) {
      const batch = file.entries(seq, 500)
      if (batch.length === 0) break
      for (const e of batch) {
        replica.replay(e, operator)
        if (e.kind === 'settle') settlements++
      }
      seq += batch.length
      onProgress?.(seq - 1)
    }
    if (replica.head() !== file.head()) throw new LedgerError('CORRUPT', 'the log ends before the head the file records')
    if (replica.stateDigest() !== file.stateDigest()) throw new LedgerError('CORRUPT', "the file's state differs from the state its log rebuilds")
    const { held, created } = file.supply()
    const counted = file.counted()
    if (counted !== created || held !== counted) throw new LedgerError('CORRUPT', `accounts hold ${counted} micro-units (running total ${held}) but ${created} were created`)
    return { entries: seq - 1, head: file.head(), operator, settlements }
  } finally {
    file.close()
    replica.close()
  }
}
