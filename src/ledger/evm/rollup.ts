import type { Address, Hex, PublicClient } from 'viem'
import { decodeFunctionData, getContract, parseEventLogs } from 'viem'
import { deployContract, sendCall, type Wallet } from './contractCall.js'
import { artifact } from './artifacts.js'
import type { AccountLeaf, BatchHeader, BeaconAt, Delta, RoundLeaf } from './batch.js'

/**
 * The custody chain as the sequencer, verifiers and account holders use it: contracts/ChorusRollup
 * through viem, on any EVM chain (Hardhat's in-process EDR in tests, anvil on a devnet, Monad or
 * another network in production). Every write waits for its receipt and fails with the contract's
 * reason if it reverted.
 */
export interface RollupDeployment {
  sequencer: Address
  /** Signatures a batch needs. */
  threshold: number
  /** Wei. */
  minVerifierBond: bigint
  challengeWindowS: number
  /** Wei. */
  disputeBond: bigint
  genesisStateRoot: Hex
  /** The newest beacon at the genesis entry. */
  genesisBeacon: BeaconAt
}

export interface RollupState {
  batchCount: bigint
  finalCount: bigint
  tipStateRoot: Hex
  finalStateRoot: Hex
  depositCount: bigint
}

export interface ChainDepositEvent {
  index: number
  account: string
  amount: bigint
}


export const WEI_PER_MICRO = 10n ** 12n

const ZERO32: Hex = `0x${'00'.repeat(32)}`

export class Rollup {
  /** The contract at `address`; `wallet` sends (reads need none). */
  constructor(
    readonly address: Address,
    private readonly publicClient: PublicClient,
    private readonly wallet: Wallet,
  ) {}

  static async deploy(d: RollupDeployment, publicClient: PublicClient, wallet: Wallet): Promise<Rollup> {
    const { abi, bytecode } = artifact('ChorusRollup')
    const address = await deployContract(publicClient, wallet, abi, bytecode, [d.sequencer, BigInt(d.threshold), d.minVerifierBond, BigInt(d.challengeWindowS), d.disputeBond, d.genesisStateRoot, d.genesisBeacon])
    return new Rollup(address, publicClient, wallet)
  }

  /** The same contract, sending from another wallet. */
  as(wallet: Wallet): Rollup {
    return new Rollup(this.address, this.publicClient, wallet)
  }

  get domain() {
    return { name: 'Chorus', version: '1', chainId: this.publicClient.chain!.id, verifyingContract: this.address } as const
  }

  private get contract() {
    return getContract({ address: this.address, abi: artifact('ChorusRollup').abi, client: { public: this.publicClient, wallet: this.wallet } })
  }

  private send(fn: string, args: readonly unknown[], value?: bigint) {
    return sendCall({ publicClient: this.publicClient, wallet: this.wallet, address: this.address, abi: artifact('ChorusRollup').abi }, fn, args, value)
  }

  async state(): Promise<RollupState> {
    const c = this.contract
    const [batchCount, finalCount, tipStateRoot, finalStateRoot, depositCount] = await Promise.all([c.read.batchCount!(), c.read.finalCount!(), c.read.tipStateRoot!(), c.read.finalStateRoot!(), c.read.depositCount!()])
    return { batchCount, finalCount, tipStateRoot, finalStateRoot, depositCount } as RollupState
  }

  registerVerifier(node: string, binding: Hex, bond: bigint) {
    return this.send('registerVerifier', [`0x${node}`, binding], bond)
  }

  /** Deposits `micro` micro-units to a Chorus account (its 64-hex id). */
  deposit(account: string, micro: bigint) {
    return this.send('deposit', [`0x${account}`], micro * WEI_PER_MICRO)
  }

  /**
   * The chain's deposits numbered after `after`, in order, read from the contract's storage: the
   * sequencer asks every turn, and only the new ones cost a call (no scan of the chain's logs).
   */
  async deposits(after: number): Promise<ChainDepositEvent[]> {
    const read = this.contract.read
    const count = Number(await read.depositCount!())
    const out: ChainDepositEvent[] = []
    for (let i = after + 1; i <= count; i++) {
      const [account, total, before] = (await Promise.all([read.depositAccount!([BigInt(i)]), read.depositTotal!([BigInt(i)]), read.depositTotal!([BigInt(i - 1)])])) as [Hex, bigint, bigint]
      out.push({ index: i, account: account.slice(2), amount: total - before })
    }
    return out
  }

  /**
   * The batches that stand (posted and not undone), with their signers, read back from the chain:
   * each header from its posting transaction's input (the chain keeps only its hash).
   */
  async postedBatches(from = 0n): Promise<{ header: BatchHeader; signers: Address[] }[]> {
    const abi = artifact('ChorusRollup').abi
    const { batchCount } = await this.state()
    const logs = await this.publicClient.getContractEvents({ address: this.address, abi, eventName: 'BatchPosted', fromBlock: 0n })
    const latest = new Map<bigint, (typeof logs)[number]>()
    // A batch undone by a dispute may be posted again under its index: the last posting stands.
    for (const l of logs) latest.set((l.args as { index: bigint }).index, l)
    const out: { header: BatchHeader; signers: Address[] }[] = []
    for (let i = from; i < batchCount; i++) {
      const l = latest.get(i)
      if (l === undefined) throw new Error(`batch ${i} stands but its posting was not found`)
      const tx = await this.publicClient.getTransaction({ hash: l.transactionHash })
      const { args } = decodeFunctionData({ abi, data: tx.input })
      out.push({ header: args![0] as BatchHeader, signers: [...(l.args as { signers: readonly Address[] }).signers] })
    }
    return out
  }

  /** Signatures in the order the contract takes them: by signer address, ascending. */
  postBatch(header: BatchHeader, signatures: readonly { signer: Address; signature: Hex }[]) {
    const sorted = [...signatures].sort((a, b) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1)).map((s) => s.signature)
    return this.send('postBatch', [header, sorted])
  }

  finalize(header: BatchHeader) {
    return this.send('finalize', [header])
  }

  /** Whether an account's leaf stands in the latest final state root. */
  async holds(leaf: AccountLeaf, proof: readonly Hex[]): Promise<boolean> {
    return (await this.contract.read.holds!([leaf, proof])) as boolean
  }

  withdraw(leaf: AccountLeaf, proof: readonly Hex[]) {
    return this.send('withdraw', [leaf, proof])
  }

  /** The newest beacon at the rollup's genesis (batch 0's beacons hash back to it). */
  async genesisBeacon(): Promise<BeaconAt> {
    const [chain, index, value] = (await this.contract.read.genesisBeacon!()) as [number, bigint, Hex]
    return { chain, index, value }
  }

  /** Signatures a batch needs. */
  async threshold(): Promise<number> {
    return Number(await this.contract.read.threshold!())
  }

  async disputeBond(): Promise<bigint> {
    return (await this.contract.read.disputeBond!()) as bigint
  }

  async disputeConservation(header: BatchHeader, signers: readonly Address[], deltas: readonly Delta[]) {
    return this.send('disputeConservation', [header, signers, deltas.map((d) => d.account), deltas.map((d) => d.delta)], await this.disputeBond())
  }

  async disputeDoubleSettlement(header: BatchHeader, signers: readonly Address[], first: BatchHeader, a: { leaf: RoundLeaf; proof: readonly Hex[] }, b: { leaf: RoundLeaf; proof: readonly Hex[] }) {
    return this.send('disputeDoubleSettlement', [header, signers, first, a.leaf, a.proof, b.leaf, b.proof], await this.disputeBond())
  }

  /**
   * Disputes a beacon the batch quotes: its own tip (`which` 0) or a round's members (1) or
   * assignment (2) beacon, against an earlier standing batch's tip (`anchor`) or the genesis one.
   */
  async disputeBeacon(header: BatchHeader, signers: readonly Address[], which: 0 | 1 | 2, round: { leaf: RoundLeaf; proof: readonly Hex[] } | undefined, anchor: BatchHeader | 'genesis') {
    const r = round ?? { leaf: { batch: 0n, position: 0, round: ZERO32, transcriptRoot: ZERO32, entry: ZERO32, deltas: ZERO32, beaconChain: 0, membersIndex: 0n, membersBeacon: ZERO32, assignmentIndex: 0n, assignmentBeacon: ZERO32 }, proof: [] }
    return this.send('disputeBeacon', [header, signers, which, r.leaf, r.proof, anchor === 'genesis' ? header : anchor, anchor === 'genesis'], await this.disputeBond())
  }

  /**
   * Disputes the netting of one account (`netted`, proven in the deltas root) against every round
   * leaf of the batch with its changes, and the deposits the batch credited.
   */
  async disputeNetting(header: BatchHeader, signers: readonly Address[], leaves: readonly RoundLeaf[], changes: readonly (readonly Delta[])[], netted: Delta, proof: readonly Hex[]) {
    const lists = changes.map((c) => ({ accounts: c.map((d) => d.account), deltas: c.map((d) => d.delta) }))
    return this.send('disputeNetting', [header, signers, leaves, lists, netted.account, netted.delta, proof], await this.disputeBond())
  }

  /** Puts a round's outcome to the vote of the verifiers that did not sign its batch; the dispute's id. */
  async disputeOutcome(header: BatchHeader, round: { leaf: RoundLeaf; proof: readonly Hex[] }, claim: string): Promise<bigint> {
    const { logs } = await this.send('disputeOutcome', [header, round.leaf, round.proof, claim], await this.disputeBond())
    const [opened] = parseEventLogs({ abi: artifact('ChorusRollup').abi, logs, eventName: 'OutcomeDisputed' })
    return (opened!.args as { id: bigint }).id
  }

  /** Puts a whole batch to the same vote (its body withheld: no leaf to point at); the dispute's id. */
  async disputeBatch(header: BatchHeader, claim: string): Promise<bigint> {
    const { logs } = await this.send('disputeBatch', [header, claim], await this.disputeBond())
    const [opened] = parseEventLogs({ abi: artifact('ChorusRollup').abi, logs, eventName: 'OutcomeDisputed' })
    return (opened!.args as { id: bigint }).id
  }

  voteOutcome(id: bigint, wrong: boolean, signers: readonly Address[]) {
    return this.send('voteOutcome', [id, wrong, signers])
  }

  resolveOutcome(id: bigint, header: BatchHeader, signers: readonly Address[]) {
    return this.send('resolveOutcome', [id, header, signers])
  }

  async verifier(address: Address): Promise<{ node: Hex; bond: bigint; active: boolean }> {
    const [node, bond, active] = (await this.contract.read.verifiers!([address])) as [Hex, bigint, boolean]
    return { node, bond, active }
  }

  async forfeited(): Promise<bigint> {
    return (await this.contract.read.forfeited!()) as bigint
  }

  async withdrawn(account: string): Promise<bigint> {
    return (await this.contract.read.withdrawn!([`0x${account}`])) as bigint
  }
}
