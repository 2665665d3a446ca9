import { existsSync } from 'node:fs'
import { HttpLedgerClient } from '../ledger/httpLedgerClient.js'
import { SqliteLedger } from '../ledger/sqliteLedger.js'
import { transcriptViewFrom } from '../ledger/transcriptView.js'
import { GENESIS_HEAD, genesisLedgerView, type LedgerView } from '../round/ledgerView.js'
import { TranscriptError } from '../round/verify.js'
import { BEACON_PHASES, type BeaconLookup, type BeaconPhase, type IssuedBeacon } from '../round/beacons.js'
import { ConfigError } from './modelSpec.js'
import { WORKSPACE_LEDGER } from './workspaceLedger.js'

/**
 * The ledger view a transcript must be verified against: the standing at the head its Query names
 * (who was eligible, how much each judge weighed), from a served ledger, a ledger file, or — for a
 * round run without a ledger — the genesis view — with the beacons that ledger issued to the round.
 * (How the outcome is computed, the transcript's Query says itself: its rules.)
 */
export async function ledgerViewFor(envelopes: readonly unknown[], from: { url?: string; file?: string }): Promise<{ view: LedgerView; beacons?: BeaconLookup }> {
  const head = (envelopes[0] as { body?: { ledgerHead?: unknown } } | undefined)?.body?.ledgerHead
  const round = (envelopes[0] as { round?: unknown } | undefined)?.round
  if (typeof head !== 'string' || head === GENESIS_HEAD) return { view: genesisLedgerView() }
  if (from.url !== undefined) return transcriptViewFrom(new HttpLedgerClient(from.url), head, round, `at ${from.url}`)
  const issued = new Map<BeaconPhase, IssuedBeacon>()
  const beacons: BeaconLookup = (r, phase) => (r === round ? issued.get(phase) : undefined)
  const file = from.file ?? (existsSync(WORKSPACE_LEDGER) ? WORKSPACE_LEDGER : undefined)
  if (file === undefined) throw new ConfigError(`this round names ledger head ${head.slice(0, 16)}…: give the ledger it ran on (--ledger <url> or --ledger-file <path>)`)
  const ledger = SqliteLedger.readOnly(file)
  try {
    const view = ledger.viewAt(head)
    if (view === undefined) throw new TranscriptError(`the ledger ${file} never had the head this round names (${head.slice(0, 16)}…)`)
    if (typeof round === 'string') {
      for (const phase of BEACON_PHASES) {
        const b = ledger.beaconOf(round, phase)
        if (b !== undefined) issued.set(phase, b)
      }
    }
    return { view, beacons }
  } finally {
    ledger.close()
  }
}
