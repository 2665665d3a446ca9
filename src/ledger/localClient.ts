import type { Micro } from './amount.js'
import type { AccountState, Charge, Ledger, LogEntry, SettlementReceipt } from './ledger.js'
import type { LedgerClient } from './networkLedger.js'
import type { AccountRequest } from './requests.js'
import type { StandingSnapshot } from './standing.js'

/** The ledger in this process (`demo`, `up`, `ledger serve` itself), behind the same async port as a served one. */
export class LocalLedgerClient implements LedgerClient {
  constructor(readonly ledger: Ledger) {}

  async latest(): Promise<StandingSnapshot> {
    return this.ledger.snapshotAt(this.ledger.head())!
  }

  async standingAt(head: string): Promise<StandingSnapshot | undefined> {
    return this.ledger.snapshotAt(head)
  }

  async account(id: string): Promise<AccountState | undefined> {
    return this.ledger.account(id)
  }

  async accountOfKey(key: string): Promise<string | undefined> {
    return this.ledger.accountOfKey(key)
  }

  async allowance(client: string, gateway: string): Promise<Micro> {
    return this.ledger.allowance(client, gateway)
  }

  async submit(request: AccountRequest): Promise<LogEntry> {
    return this.ledger.submit(request)
  }

  /** Signatures checked on the thread pool first, so concurrent settlements overlap there. */
  async settle(transcript: readonly unknown[], charge?: Charge): Promise<SettlementReceipt> {
    return this.ledger.settle(await this.ledger.prepare(transcript), charge)
  }

  async entries(fromSeq: number, limit: number): Promise<LogEntry[]> {
    return this.ledger.entries(fromSeq, limit)
  }
}
