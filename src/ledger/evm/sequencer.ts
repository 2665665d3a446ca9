import type { Address, Hex, LocalAccount } from 'viem'
import type { SqliteLedger } from '../sqliteLedger.js'
import { type Batch, buildBatch } from './batch.js'
import { ContractRevert } from './contractCall.js'
import { RULES_VERSIONS } from '../../protocol/rulesVersions.js'
import type { Governance } from './governance.js'
import type { Rollup } from './rollup.js'
import type { ProposalStore } from './proposal.js'
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

export interface AnchorTurn {
  credited: number
  finalized: number
  /** The batch posted this turn, if the ledger had moved and enough verifiers signed. */
  posted?: Batch
  /** The batch proposed and still short of signatures (they gather in the proposal store). */
  proposed?: { batch: Batch; signatures: number; threshold: number }
}

export class Sequencer {
  /** The log replayed through the last batch that stands (kept between turns). */
  private replica: BatchReplica | undefined
  private verified = 0n

  constructor(
    private readonly ledger: SqliteLedger,
    private readonly rollup: Rollup,
    private readonly genesisSeq: number,
    /** Where the network's parameters are voted: those the ledger applies follow it. */
    private readonly governance?: Governance,
  ) {}

  /**
   * Brings the ledger's own rules to what governance has in force: the answerers' share of each
   * pool, the minimum stake (standings at earlier heads keep theirs, so rounds already run do not
   * change), and the oldest rules version settled (raised only). Whether anything changed.
   */
  async followGovernance(): Promise<boolean> {
    if (this.governance === undefined) return false
    const p = await this.governance.parameters()
    const rules = this.ledger.rules()
    const change: { answererShareBp?: number; oldestRules?: number; minStake?: string } = {}
    if (p.minStake > 0n && p.minStake !== rules.minStake) change.minStake = p.minStake.toString()
    if (p.answererShareBp > 0n && p.answererShareBp <= 10_000n && Number(p.answererShareBp) !== rules.settlement.answererShareBp) change.answererShareBp = Number(p.answererShareBp)
    if (p.oldestRules > BigInt(rules.oldestRules) && RULES_VERSIONS.has(Number(p.oldestRules))) change.oldestRules = Number(p.oldestRules)
    if (Object.keys(change).length === 0) return false
    this.ledger.govern(change)
    return true
  }

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
    for (const { header } of await this.rollup.postedBatches(finalCount)) {
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

  /**
   * The next batch from the last that stands to the ledger's head (or to entry `through`: a
   * proposal already out), or undefined when nothing changed.
   */
  async nextBatch(transcripts: string, through?: bigint): Promise<Batch | undefined> {
    const { batchCount } = await this.rollup.state()
    // A dispute undid batches this replay had taken: start it again from the rollup's genesis.
    if (this.replica === undefined || batchCount < this.verified) {
      this.replica?.close()
      this.replica = new BatchReplica((from, limit) => this.ledger.entries(from, limit), this.genesisSeq)
      this.verified = 0n
    }
    for (const { header } of await this.rollup.postedBatches(this.verified)) {
      await this.replica.verify(header)
      this.verified = header.index + 1n
    }
    const base = await this.replica.current()
    if (base.seq === this.ledger.headSeq()) return undefined
    if (through !== undefined) return this.replica.build(through, transcripts)
    return buildBatch(this.ledger, base, transcripts)
  }

  /**
   * One turn: credit the chain's new deposits, finalize what is due, and propose the next batch;
   * it is posted once the verifiers' signatures reach the threshold — those of the keys held here
   * (a devnet's) and those gathered in `store` (verifiers elsewhere, `verify-batch`). Without a
   * store, the batch is posted when the keys held here suffice.
   */
  async anchor(verifiers: readonly LocalAccount[], transcripts: string, store?: ProposalStore): Promise<AnchorTurn> {
    const credited = await this.creditDeposits()
    await this.followGovernance()
    const finalized = await this.finalizeDue()
    // A proposal already out keeps its header (verifiers are signing it); a new one waits for it.
    const open = await store?.read()
    const standing = (await this.rollup.state()).batchCount
    const pending = open !== undefined && open.header.index === standing ? open : undefined
    const batch = await this.nextBatch(transcripts, pending?.header.logSeq)
    if (batch === undefined) return { credited, finalized }
    const signatures = [...(pending?.signatures ?? []), ...(await Sequencer.sign(this.rollup, batch, verifiers))]
    // Only active verifiers' signatures count: one from anyone else would make the posting fail.
    const unique = [...new Map(signatures.map((s) => [s.signer.toLowerCase(), s])).values()]
    const active = await Promise.all(unique.map(async (s) => (await this.rollup.verifier(s.signer)).active))
    const distinct = unique.filter((_, i) => active[i])
    const threshold = await this.rollup.threshold()
    const body = { accounts: batch.accounts, deltas: batch.deltas, rounds: batch.rounds, roundChanges: batch.roundChanges }
    if (distinct.length < threshold) {
      await store?.write({ header: batch.header, signatures: distinct, body })
      return { credited, finalized, proposed: { batch, signatures: distinct.length, threshold } }
    }
    // Published before it is posted: no batch stands on the chain whose lists nobody can see.
    await store?.publish({ header: batch.header, body })
    await this.rollup.postBatch(batch.header, distinct)
    await store?.clear()
    return { credited, finalized, posted: batch }
  }

  /** Signs with verifier keys held here (a devnet's; a network's verifiers run verify-batch themselves). */
  static async sign(rollup: Rollup, batch: Batch, verifiers: readonly LocalAccount[]): Promise<Signature[]> {
    return Promise.all(verifiers.map(async (v) => ({ signer: v.address, signature: await signBatch(v, rollup.domain, batch.header) })))
  }

  close(): void {
    this.replica?.close()
    this.replica = undefined
  }
}
