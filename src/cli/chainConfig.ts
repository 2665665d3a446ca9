import { readFile, writeFile } from 'node:fs/promises'
import { type Address, type Chain, createPublicClient, createWalletClient, defineChain, http, type LocalAccount, type PublicClient } from 'viem'
import type { Wallet } from '../ledger/evm/contractCall.js'
import { Governance } from '../ledger/evm/governance.js'
import { Rollup } from '../ledger/evm/rollup.js'
import { ConfigError } from './modelSpec.js'

/**
 * A network's custody chain, as `chorus ledger deploy` records it beside the ledger file
 * (`.chorus/chain.json`): the RPC, the chain id, the contracts' addresses, the log entry the
 * rollup's genesis state root was taken at, and the sequencer's EVM key file.
 */
export interface ChainConfig {
  rpc: string
  chainId: number
  rollup: Address
  governance: Address
  genesisSeq: number
  /** The EVM key file `anchor` and `serve --anchor` sign batches' postings with (as deploy was given it). */
  sequencerKey?: string
}

export async function readChainConfig(path: string): Promise<ChainConfig> {
  let c: Partial<ChainConfig>
  try {
    c = JSON.parse(await readFile(path, 'utf8')) as Partial<ChainConfig>
  } catch (err) {
    throw new ConfigError(`no chain configuration at ${path} (chorus ledger deploy writes it): ${(err as Error).message}`)
  }
  if (typeof c.rpc !== 'string' || !Number.isSafeInteger(c.chainId) || typeof c.rollup !== 'string' || typeof c.governance !== 'string' || !Number.isSafeInteger(c.genesisSeq)) throw new ConfigError(`${path} is not a chain configuration`)
  return c as ChainConfig
}

export async function writeChainConfig(path: string, c: ChainConfig): Promise<void> {
  await writeFile(path, `${JSON.stringify(c, null, 2)}\n`, { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
    throw new ConfigError(err.code === 'EEXIST' ? `${path} exists: this ledger is deployed already` : `cannot write ${path}: ${err.message}`)
  })
}

export function chainOf(rpc: string, chainId: number): Chain {
  return defineChain({ id: chainId, name: `chain ${chainId}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpc] } } })
}

export interface ChainClients {
  publicClient: PublicClient
  wallet(account: LocalAccount): Wallet
}

export async function connect(rpc: string, chainId?: number): Promise<ChainClients & { chainId: number }> {
  const probe = createPublicClient({ transport: http(rpc, { retryCount: 1 }) })
  const id = chainId ?? (await probe.getChainId().catch((err: Error) => {
    throw new ConfigError(`no EVM node answers at ${rpc}: ${err.message.split('\n')[0]}`)
  }))
  const chain = chainOf(rpc, id)
  const transport = http(rpc, { retryCount: 1 })
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 250 }) as PublicClient
  return { chainId: id, publicClient, wallet: (account) => createWalletClient({ account, chain, transport, pollingInterval: 250 }) }
}

export async function contracts(config: ChainConfig, account?: LocalAccount) {
  const c = await connect(config.rpc, config.chainId)
  const wallet = account === undefined ? undefined : c.wallet(account)
  const rollup = new Rollup(config.rollup, c.publicClient, wallet as Wallet)
  const governance = new Governance(config.governance, c.publicClient, wallet as Wallet)
  return { ...c, rollup, governance }
}
