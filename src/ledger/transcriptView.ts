import { BEACON_PHASES, type BeaconLookup, type BeaconPhase, type IssuedBeacon } from '../round/beacons.js'
import type { LedgerView } from '../round/ledgerView.js'
import { TranscriptError } from '../round/verify.js'
import type { LedgerClient } from './networkLedger.js'
import { standingOf } from './standing.js'

/**
 * What a transcript is verified against, from a ledger reached through its client: the standing
 * at the head the round's Query names, and the beacons the ledger issued to the round. A head the
 * ledger never had is an invalid transcript, said as such. `where` names the ledger in that message.
 */
export async function transcriptViewFrom(client: Pick<LedgerClient, 'standingAt' | 'beaconOf'>, head: string, round: unknown, where: string, signal?: AbortSignal): Promise<{ view: LedgerView; beacons: BeaconLookup }> {
  const snap = await client.standingAt(head, signal ? { signal } : {})
  if (snap === undefined) throw new TranscriptError(`the ledger ${where} never had the head this round names (${head.slice(0, 16)}…)`)
  const issued = new Map<BeaconPhase, IssuedBeacon>()
  if (typeof round === 'string') {
    const found = await Promise.all(BEACON_PHASES.map((phase) => client.beaconOf(round, phase, signal ? { signal } : {})))
    for (const [i, phase] of BEACON_PHASES.entries()) {
      const b = found[i]
      if (b !== undefined) issued.set(phase, b)
    }
  }
  return { view: standingOf(snap), beacons: (r, phase) => (r === round ? issued.get(phase) : undefined) }
}
