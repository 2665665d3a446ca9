import type { Address, Hex, LocalAccount } from 'viem'
import type { SqliteLedger } from '../sqliteLedger.js'
import { type Batch, buildBatch } from './batch.js'
import { ContractRevert } from './contractCall.js'
import type { Rollup } from './rollup.js'
import { BatchReplica, signBatch } from './verifyBatch.js'

/**
 * The ledger operator's side of the rollup: credits the chain's new deposits into the ledger in
 * their order, finalizes the batches whose window is over, and proposes the next batch — rebuilt,
 * like every verifier does, on a replay of the batches that stand, so a restarted sequencer picks
 * up where the chain says it is.
 */
export interface Signature {
  signer: Address
  signature: Hex
}

export class Sequencer {
  constructor(
    private readonly ledger: SqliteLedger,
    private readonly rollup: Rollup,
    private readonly genesisSeq: number,
  ) {}

  /** Credits the deposits the chain took and the ledger has not; how many. */
  async creditDeposits(): Promise<number> {
    const fresh = await this.rollup.deposits(this.ledger.chain.credited())
    for (const d of fresh) this.ledger.creditDeposit(d)
    return fresh.length
  }

  /** Finalizes standing batches in order while their windows are over; how many. */
  async finalizeDue(): Promise<number> {
    const { finalCount } = await this.rollup.state()
    let done = 0
    for (const { header } of (await this.rollup.postedBatches()).filter((b) => b.header.index >= finalCount)) {
      try {
        await this.rollup.finalize(header)
        done++
      } catch (err) {
        if (err instanceof ContractRevert && err.reason.startsWith('NotFinalYet')) break
        throw err
      }
    }
    return done
  }

  /** The next batch from the last that stands to the ledger's head, or undefined when nothing changed. */
  async nextBatch(transcripts: string): Promise<Batch | undefined> {
    const replica = new BatchReplica((from, limit) => this.ledger.entries(from, limit), this.genesisSeq)
    try {
      for (const { header } of await this.rollup.postedBatches()) await replica.verify(header)
      const base = await replica.current()
      if (base.seq === this.ledger.headSeq()) return undefined
      return buildBatch(this.ledger, base, transcripts)
    } finally {
      replica.close()
    }
  }

  /** Signs with verifier keys held here (a devnet's; a network's verifiers run verify-batch themselves). */
  static async sign(rollup: Rollup, batch: Batch, verifiers: readonly LocalAccount[]): Promise<Signature[]> {
    return Promise.all(verifiers.map(async (v) => ({ signer: v.address, signature: await signBatch(v, rollup.domain, batch.header) })))
  }
}
