import { existsSync } from 'node:fs'
import { HttpLedgerClient } from '../ledger/httpLedgerClient.js'
import { SqliteLedger } from '../ledger/sqliteLedger.js'
import { standingOf } from '../ledger/standing.js'
import { GENESIS_HEAD, genesisLedgerView, type LedgerView } from '../round/ledgerView.js'
import { TranscriptError } from '../round/verify.js'
import { ConfigError } from './modelSpec.js'
import { WORKSPACE_LEDGER } from './workspaceLedger.js'

/**
 * The ledger view a transcript must be verified against: the standing at the head its Query names
 * (who was eligible, how much each judge weighed), from a served ledger, a ledger file, or — for a
 * round run without a ledger — the genesis view. (How the outcome is computed, the transcript's
 * Query says itself: its rules.)
 */
export async function ledgerViewFor(envelopes: readonly unknown[], from: { url?: string; file?: string }): Promise<LedgerView> {
  const head = (envelopes[0] as { body?: { ledgerHead?: unknown } } | undefined)?.body?.ledgerHead
  if (typeof head !== 'string' || head === GENESIS_HEAD) return genesisLedgerView()
  if (from.url !== undefined) {
    const client = new HttpLedgerClient(from.url)
    const snap = await client.standingAt(head)
    if (snap === undefined) throw new TranscriptError(`the ledger at ${from.url} never had the head this round names (${head.slice(0, 16)}…)`)
    return standingOf(snap)
  }
  const file = from.file ?? (existsSync(WORKSPACE_LEDGER) ? WORKSPACE_LEDGER : undefined)
  if (file === undefined) throw new ConfigError(`this round names ledger head ${head.slice(0, 16)}…: give the ledger it ran on (--ledger <url> or --ledger-file <path>)`)
  const ledger = SqliteLedger.readOnly(file)
  try {
    const view = ledger.viewAt(head)
    if (view === undefined) throw new TranscriptError(`the ledger ${file} never had the head this round names (${head.slice(0, 16)}…)`)
    return view
  } finally {
    ledger.close()
  }
}
