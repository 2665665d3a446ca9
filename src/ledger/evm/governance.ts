import { type Address, getContract, parseEventLogs, type PublicClient, stringToHex } from 'viem'
import { artifact } from './artifacts.js'
import { deployContract, sendCall, type Wallet } from './contractCall.js'

/**
 * The network's parameters on the chain (contracts/ChorusGovernance.sol): read by nodes and
 * gateways, changed only by a stake-weighted vote with a quorum and a timelock.
 */
export const PARAMETERS = ['ticketPrice', 'minStake', 'answererShareBp', 'calibrationRatePpm', 'judgeShareCapPpm', 'oldestRules'] as const
export type ParameterName = (typeof PARAMETERS)[number]

export interface GovernanceDeployment {
  votingPeriodS: number
  timelockS: number
  /** Basis points of all staked governance stake that must vote. */
  quorumBp: number
  initial: Partial<Record<ParameterName, bigint>>
}

const keyOf = (name: string) => stringToHex(name, { size: 32 })

export class Governance {
  /** The contract at `address`; `wallet` sends (reads need none). */
  constructor(
    readonly address: Address,
    private readonly publicClient: PublicClient,
    private readonly wallet: Wallet,
  ) {}

  static async deploy(d: GovernanceDeployment, publicClient: PublicClient, wallet: Wallet): Promise<Governance> {
    const { abi, bytecode } = artifact('ChorusGovernance')
    const names = Object.keys(d.initial) as ParameterName[]
    const address = await deployContract(publicClient, wallet, abi, bytecode, [BigInt(d.votingPeriodS), BigInt(d.timelockS), BigInt(d.quorumBp), names.map(keyOf), names.map((n) => d.initial[n]!)])
    return new Governance(address, publicClient, wallet)
  }

  as(wallet: Wallet): Governance {
    return new Governance(this.address, this.publicClient, wallet)
  }

  private send(fn: string, args: readonly unknown[], value?: bigint) {
    return sendCall({ publicClient: this.publicClient, wallet: this.wallet, address: this.address, abi: artifact('ChorusGovernance').abi }, fn, args, value)
  }

  private get read() {
    return getContract({ address: this.address, abi: artifact('ChorusGovernance').abi, client: this.publicClient }).read
  }

  /** The parameter in force (0 when never set). */
  async parameter(name: ParameterName): Promise<bigint> {
    return (await this.read.parameters!([keyOf(name)])) as bigint
  }

  /** Every known parameter in force. */
  async parameters(): Promise<Record<ParameterName, bigint>> {
    const values = await Promise.all(PARAMETERS.map((n) => this.parameter(n)))
    return Object.fromEntries(PARAMETERS.map((n, i) => [n, values[i]!])) as Record<ParameterName, bigint>
  }

  stake(wei: bigint) {
    return this.send('stake', [], wei)
  }

  unstake(wei: bigint) {
    return this.send('unstake', [wei])
  }

  /** Proposes a change; its id. */
  async propose(name: ParameterName, value: bigint): Promise<bigint> {
    const { logs } = await this.send('propose', [keyOf(name), value])
    const [proposed] = parseEventLogs({ abi: artifact('ChorusGovernance').abi, logs, eventName: 'Proposed' })
    return (proposed!.args as { id: bigint }).id
  }

  vote(id: bigint, support: boolean) {
    return this.send('vote', [id, support])
  }

  queue(id: bigint) {
    return this.send('queue', [id])
  }

  execute(id: bigint) {
    return this.send('execute', [id])
  }
}
