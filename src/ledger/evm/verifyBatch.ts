import type { Hex, LocalAccount } from 'viem'
import type { ChainDeposit } from '../chainDeposits.js'
import { LedgerError, type LogEntry } from '../ledger.js'
import { changesByAccount, conserves } from './faults.js'
import { SqliteLedger } from '../sqliteLedger.js'
import { BATCH_TYPES, type Batch, type BatchBase, type BatchHeader, buildBatch, genesisBase } from './batch.js'

/**
 * `chorus ledger verify-batch`: a verifier's own replay of the sequencer's log, batch after batch.
 * Each batch is rebuilt from the entries themselves (every settlement's transcript verified and its
 * outcome recomputed again, as `ledger verify` does) and must equal the header the sequencer asks
 * it to sign, field for field; only then does the verifier sign it (EIP-712).
 */
export type EntrySource = (fromSeq: number, limit: number) => Promise<readonly LogEntry[]> | readonly LogEntry[]

export class BatchMismatch extends Error {
  readonly code = 'BATCH_MISMATCH'
  constructor(readonly fields: readonly string[]) {
    super(`the batch differs from the log's replay in: ${fields.join(', ')}`)
  }
}

const PAGE = 200

export class BatchReplica {
  private readonly replica = SqliteLedger.forReplay()
  private base: BatchBase | undefined
  private operator: string | undefined

  /** `genesisSeq`: the log entry the rollup was deployed at (its genesis state root's). */
  constructor(
    private readonly source: EntrySource,
    private readonly genesisSeq: number,
  ) {}

  /** Where the next batch starts: after the last one verified, or at the rollup's genesis entry. */
  async current(): Promise<BatchBase> {
    if (this.base === undefined) {
      await this.replayTo(this.genesisSeq)
      this.base = genesisBase(this.replica)
    }
    return this.base
  }

  /** The next batch as the log makes it, through entry `logSeq` (the base does not move). */
  async build(logSeq: bigint, transcripts: string): Promise<Batch> {
    const base = await this.current()
    await this.replayTo(Number(logSeq))
    return buildBatch(this.replica, base, transcripts)
  }

  /** Rebuilds the next batch from the log and checks it is `header`; the batch, or BatchMismatch. */
  async verify(header: BatchHeader): Promise<Batch> {
    const base = await this.current()
    if (header.index !== base.index) throw new BatchMismatch(['index'])
    const batch = await this.build(header.logSeq, header.transcripts)
    const differing: string[] = (Object.keys(header) as (keyof BatchHeader)[]).filter((k) => header[k] !== batch.header[k])
    // The log may be valid and still make money from nothing (an operator's faucet credit): on a
    // custody chain every micro-unit must come from a deposit, and a signer of such a batch is slashed.
    const deposits = this.replica.chain.depositsBetween(Number(batch.header.depositsFrom), Number(batch.header.depositsThrough))
    if (!conserves(batch.header, batch.deltas, deposits)) differing.push('conservation')
    if (!nets(batch, deposits)) differing.push('netting')
    if (differing.length > 0) throw new BatchMismatch(differing)
    this.base = batch.next
    return batch
  }

  close(): void {
    this.replica.close()
  }

  private async replayTo(seq: number): Promise<void> {
    while (this.replica.headSeq() < seq) {
      const from = this.replica.headSeq() + 1
      const page = await this.source(from, Math.min(PAGE, seq - from + 1))
      if (page.length === 0) throw new LedgerError('CORRUPT', `the log ends at entry ${from - 1}, before entry ${seq}`)
      for (const e of page) {
        if (e.seq > seq) break
        if (this.operator === undefined) {
          if (e.kind !== 'genesis') throw new LedgerError('CORRUPT', 'the log does not start with its genesis')
          this.operator = (JSON.parse(e.body) as { operator: string }).operator
        }
        this.replica.replay(e, this.operator)
      }
    }
  }
}

/**
 * Whether each account's net change is what the rounds' leaves say it gained plus its deposits
 * (what a netting dispute checks on the chain), including accounts the deltas leave out.
 */
function nets(batch: Batch, deposits: readonly ChainDeposit[]): boolean {
  const sums = changesByAccount(batch, deposits)
  const netted = new Map(batch.deltas.map((d) => [d.account as string, d.delta]))
  return [...new Set([...sums.keys(), ...netted.keys()])].every((a) => (sums.get(a) ?? 0n) === (netted.get(a) ?? 0n))
}

/** A verifier's EIP-712 signature of a batch header for the rollup at `domain`. */
export function signBatch(account: LocalAccount, domain: { name: string; version: string; chainId: number; verifyingContract: Hex }, header: BatchHeader): Promise<Hex> {
  return account.signTypedData({ domain, types: BATCH_TYPES, primaryType: 'Batch', message: header })
}
