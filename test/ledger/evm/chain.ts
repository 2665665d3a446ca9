import { createRequire } from 'node:module'
import { createPublicClient, createWalletClient, custom, type EIP1193Provider, type Hex, keccak256, type LocalAccount, parseEther, type PublicClient, stringToHex, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { hardhat } from 'viem/chains'

/**
 * Hardhat 2's in-process EDR network (no port, no download): the chain the rollup tests run on.
 * Accounts are local keys funded by the node, so verifiers sign EIP-712 themselves.
 */
export interface TestChain {
  publicClient: PublicClient
  wallet(account: LocalAccount): ReturnType<typeof walletFor>
  account(label: string): Promise<LocalAccount>
  /** Moves the chain's clock on and mines a block. */
  advance(seconds: number): Promise<void>
}

const require = createRequire(import.meta.url)

function walletFor(provider: EIP1193Provider, account: LocalAccount) {
  return createWalletClient({ account, chain: hardhat, transport: custom(provider) })
}

export async function testChain(): Promise<TestChain> {
  const hre = require('hardhat') as { network: { provider: EIP1193Provider } }
  const provider = hre.network.provider
  await provider.request({ method: 'hardhat_reset' as never, params: [] as never })
  const publicClient = createPublicClient({ chain: hardhat, transport: custom(provider) }) as PublicClient
  return {
    publicClient,
    wallet: (account) => walletFor(provider, account),
    account: async (label) => {
      const account = privateKeyToAccount(keccak256(stringToHex(`chorus-test-evm/${label}`)))
      await provider.request({ method: 'hardhat_setBalance' as never, params: [account.address, toHex(parseEther('1000'))] as never })
      return account
    },
    advance: async (seconds) => {
      await provider.request({ method: 'evm_increaseTime' as never, params: [seconds] as never })
      await provider.request({ method: 'evm_mine' as never, params: [] as never })
    },
  }
}

export const asHex = (s: string): Hex => `0x${s}`
