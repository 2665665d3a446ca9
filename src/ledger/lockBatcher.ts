import { LedgerError } from './ledger.js'
import type { TicketLock } from './ticketLock.js'

/**
 * Gathers the ticket locks that arrive together and hands them to the ledger as one write. A
 * round's members lock at about the same moment (they all got its Query at once), and a write costs
 * a sync to disk whatever it holds: measured on a 7-node in-process round, one entry per lock added
 * about 5 ms to the round, one entry per gathering about 1 (bench: beacon_added_ms). A gathering
 * closes at the end of the event-loop turn it began in, so no lock waits for another to arrive.
 */
export interface LockWriter {
  lockTickets(requests: readonly unknown[]): (TicketLock | LedgerError)[]
}

/** The most locks one entry holds (a bound on one write's size and time). */
export const MAX_LOCKS_PER_ENTRY = 256

export class LockBatcher {
  private pending: { request: unknown; resolve: (l: TicketLock) => void; reject: (e: unknown) => void }[] = []
  private scheduled = false

  constructor(private readonly ledger: LockWriter) {}

  lock(request: unknown): Promise<TicketLock> {
    return new Promise((resolve, reject) => {
      this.pending.push({ request, resolve, reject })
      if (this.pending.length >= MAX_LOCKS_PER_ENTRY) this.flush()
      else if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  private flush(): void {
    this.scheduled = false
    const batch = this.pending
    this.pending = []
    if (batch.length === 0) return
    let results: (TicketLock | LedgerError)[]
    try {
      results = this.ledger.lockTickets(batch.map((p) => p.request))
    } catch (err) {
      for (const p of batch) p.reject(err)
      return
    }
    batch.forEach((p, i) => {
      const r = results[i]!
      if (r instanceof LedgerError) p.reject(r)
      else p.resolve(r)
    })
  }
}
