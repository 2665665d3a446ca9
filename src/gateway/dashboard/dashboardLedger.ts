import type { BatchHeader } from '../../ledger/evm/batch.js'
import type { LedgerClient } from '../../ledger/networkLedger.js'
import { transcriptViewFrom } from '../../ledger/transcriptView.js'
import { GENESIS_HEAD, genesisLedgerView } from '../../round/ledgerView.js'
import { type VerifiedRound, verifyTranscript } from '../../round/verify.js'

/**
 * What the dashboard reads from the ledger: the newest entries of its signed log with the chain
 * head, and the verification of a stored round against the standing and beacons the ledger gave
 * it. Without a ledger, rounds verify against the genesis view (as `chorus verify` does) and there
 * is no log.
 */
export interface DashboardLedger {
  log(limit: number, signal?: AbortSignal): Promise<SettlementLog | undefined>
  verify(envelopes: readonly unknown[], signal?: AbortSignal): Promise<VerifiedRound>
}

export interface SettlementLog {
  head: string
  seq: number
  /** The newest batches posted to the custody chain, newest first; null: this ledger is not anchored. */
  anchored: { index: string; log_seq: string; log_head: string; state_root: string; rounds: number; burned_micro: string }[] | null
  /** Newest first. `round`: the round a settle, beacon or expire entry is about. */
  entries: { seq: number; at: number; kind: string; hash: string; round: string | null }[]
}

export const LOG_LIMIT = 200

const ROUND_FIELD = /"round":"([0-9a-f]{64})"/

/**
 * What a served ledger's client adds (HttpLedgerClient): its head and length without the whole
 * standing (`info`), and, under `ledger serve --anchor`, the batches it posted.
 */
type Served = {
  info?: (options?: { signal?: AbortSignal }) => Promise<{ head: string; seq: number }>
  anchoredBatches?: (limit: number, options?: { signal?: AbortSignal }) => Promise<BatchHeader[] | undefined>
}

export function dashboardLedger(client: Pick<LedgerClient, 'latest' | 'entries' | 'standingAt' | 'beaconOf'> & Served, where: string): DashboardLedger {
  return {
    async log(limit, signal) {
      const n = Math.min(Math.max(1, limit), LOG_LIMIT)
      const opts = signal ? { signal } : {}
      const latest = client.info ? await client.info(opts) : await client.latest(opts)
      const [entries, batches] = await Promise.all([client.entries(Math.max(1, latest.seq - n + 1), n, opts), client.anchoredBatches?.(10, opts)])
      return {
        head: latest.head,
        seq: latest.seq,
        anchored:
          batches?.map((b) => ({ index: b.index.toString(), log_seq: b.logSeq.toString(), log_head: b.logHead, state_root: b.stateRoot, rounds: b.rounds, burned_micro: b.burned.toString() })) ?? null,
        entries: entries.reverse().map((e) => ({ seq: e.seq, at: e.at, kind: e.kind, hash: e.hash, round: ROUND_FIELD.exec(e.body.slice(0, 4096))?.[1] ?? null })),
      }
    },
    async verify(envelopes, signal) {
      const head = (envelopes[0] as { body?: { ledgerHead?: unknown } } | undefined)?.body?.ledgerHead
      if (typeof head !== 'string' || head === GENESIS_HEAD) return verifyTranscript(envelopes, { ledger: genesisLedgerView() })
      const { view, beacons } = await transcriptViewFrom(client, head, (envelopes[0] as { round?: unknown }).round, where, signal)
      return verifyTranscript(envelopes, { ledger: view, beacons })
    },
  }
}

/** A gateway without a ledger: rounds run on the genesis view and verify against it. */
export const ledgerlessDashboard: DashboardLedger = {
  log: async () => undefined,
  verify: async (envelopes) => verifyTranscript(envelopes, { ledger: genesisLedgerView() }),
}
