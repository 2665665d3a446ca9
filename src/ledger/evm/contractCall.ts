import { type Abi, type Account, type Address, type Chain, decodeErrorResult, type Hex, type Log, type PublicClient, type Transport, type WalletClient } from 'viem'

/** A wallet that signs and sends on one chain. */
export type Wallet = WalletClient<Transport, Chain, Account>

export interface ContractAt {
  publicClient: PublicClient
  wallet: Wallet
  address: Address
  abi: Abi
}

/** A call the contract refused: `reason` is its error's name and arguments, or its revert string. */
export class ContractRevert extends Error {
  readonly code = 'REVERTED'
  constructor(
    readonly fn: string,
    readonly reason: string,
  ) {
    super(`${fn} was refused: ${reason}`)
  }
}

/**
 * The contract's own reason for a revert, from wherever the client put the revert data (viem
 * wraps a node's error; Hardhat's carries the data on the innermost cause).
 */
function revertOf(fn: string, abi: Abi, err: unknown): Error {
  for (let c = err as { data?: unknown; cause?: unknown } | undefined, depth = 0; c !== undefined && c !== null && depth < 8; c = c.cause as typeof c, depth++) {
    const data = typeof c.data === 'string' ? c.data : typeof (c.data as { data?: unknown } | undefined)?.data === 'string' ? (c.data as { data: string }).data : undefined
    if (data === undefined || !data.startsWith('0x') || data.length < 10) continue
    try {
      const e = decodeErrorResult({ abi, data: data as Hex })
      const args = (e.args ?? []).map((a) => String(a))
      return new ContractRevert(fn, e.errorName === 'Error' ? args[0]! : `${e.errorName}(${args.join(', ')})`)
    } catch {
      return new ContractRevert(fn, `undecodable revert ${data.slice(0, 10)}`)
    }
  }
  return err as Error
}

/**
 * Calls a contract function as a transaction: simulated first (a refusal fails here with the
 * contract's own reason, spending nothing), then sent, and its receipt awaited.
 */
export async function sendCall(c: ContractAt, fn: string, args: readonly unknown[], value?: bigint): Promise<{ gasUsed: bigint; logs: Log[] }> {
  const simulated = await c.publicClient
    .simulateContract({ address: c.address, abi: c.abi, functionName: fn, args, account: c.wallet.account, ...(value === undefined ? {} : { value }) })
    .catch((err: unknown) => {
      throw revertOf(fn, c.abi, err)
    })
  const hash = await c.wallet.writeContract(simulated.request as never)
  const receipt = await c.publicClient.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success') throw new ContractRevert(fn, 'reverted when mined')
  return { gasUsed: receipt.gasUsed, logs: receipt.logs }
}

/** Deploys a compiled contract and waits for its address. */
export async function deployContract(publicClient: PublicClient, wallet: Wallet, abi: Abi, bytecode: Hex, args: readonly unknown[]): Promise<Address> {
  const hash = await wallet.deployContract({ abi, bytecode, args })
  const receipt = await publicClient.waitForTransactionReceipt({ hash })
  if (receipt.contractAddress === null || receipt.contractAddress === undefined) throw new Error('the contract was not deployed')
  return receipt.contractAddress
}
