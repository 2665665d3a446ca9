import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import {
  type Account,
  type Chain,
  createPublicClient,
  createWalletClient,
  custom,
  type EIP1193Provider,
  http,
  keccak256,
  type LocalAccount,
  parseEther,
  type PublicClient,
  stringToHex,
  toHex,
  type Transport,
  type WalletClient,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { anvil, hardhat } from 'viem/chains'

/**
 * EVM engines that run here, offline: Hardhat 2's in-process EDR network (tests and benchmarks; no
 * port) and anvil on 127.0.0.1 (`chorus devnet --ledger evm`; the binary ships in
 * @foundry-rs/anvil). Accounts are local keys the engine funds, so they sign for themselves.
 */
export interface LocalEngine {
  readonly publicClient: PublicClient
  /** Where other processes reach the engine (anvil), or undefined (in-process). */
  readonly rpcUrl: string | undefined
  wallet(account: LocalAccount): WalletClient<Transport, Chain, Account>
  /** A key derived from `label`, given 1 000 units of the engine's money. */
  account(label: string): Promise<LocalAccount>
  /** Moves the chain's clock on and mines a block. */
  advance(seconds: number): Promise<void>
  close(): Promise<void>
}

const require = createRequire(import.meta.url)

function engine(chain: Chain, transport: Transport, rpcUrl: string | undefined, close: () => Promise<void>): LocalEngine {
  // Local engines mine each transaction at once: poll for receipts at once too (viem waits seconds otherwise).
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 10 }) as PublicClient
  const rpc = (method: string, params: unknown[]) => publicClient.request({ method: method as never, params: params as never })
  return {
    publicClient,
    rpcUrl,
    wallet: (account) => createWalletClient({ account, chain, transport, pollingInterval: 10 }),
    account: async (label) => {
      const account = privateKeyToAccount(keccak256(stringToHex(`chorus-local-engine/${label}`)))
      await rpc('hardhat_setBalance', [account.address, toHex(parseEther('1000'))])
      return account
    },
    advance: async (seconds) => {
      await rpc('evm_increaseTime', [seconds])
      await rpc('evm_mine', [])
    },
    close,
  }
}

/** Hardhat's in-process network, reset to a fresh chain (hardhat is a development dependency). */
export async function edrEngine(): Promise<LocalEngine> {
  let hre: { network: { provider: EIP1193Provider } }
  try {
    hre = require('hardhat') as typeof hre
  } catch (err) {
    throw new Error(`Hardhat's in-process EVM is for tests and benchmarks: install the development dependencies (npm ci) (${(err as Error).message})`)
  }
  await hre.network.provider.request({ method: 'hardhat_reset' as never, params: [] as never })
  // No retries: a refused call is an answer (Hardhat reports reverts as errors viem would retry).
  return engine(hardhat, custom(hre.network.provider, { retryCount: 0 }), undefined, async () => {})
}

/** The anvil binary for this platform (from @foundry-rs/anvil's optional packages). */
export function anvilBinary(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`
  try {
    return join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil')
  } catch {
    throw new Error(`no anvil binary for ${process.platform}-${process.arch} (${pkg} is not installed)`)
  }
}

/**
 * Starts anvil on 127.0.0.1 (a free port) and waits until it listens; `close` stops it. With
 * `blockTimeS` it also mines a block that often when idle, so the chain's clock moves as a live
 * chain's does (challenge windows end without a transaction); transactions still mine at once.
 */
export async function anvilEngine(options: { timeoutMs?: number; blockTimeS?: number } = {}): Promise<LocalEngine> {
  const interval = options.blockTimeS === undefined ? [] : ['--block-time', String(options.blockTimeS), '--mixed-mining']
  const child: ChildProcess = spawn(anvilBinary(), ['--host', '127.0.0.1', '--port', '0', '--chain-id', String(anvil.id), ...interval], { stdio: ['ignore', 'pipe', 'pipe'] })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => fail(new Error(`anvil did not start listening within ${options.timeoutMs ?? 10_000} ms: ${out.slice(-300)}`)), options.timeoutMs ?? 10_000)
    const fail = (err: Error) => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(err)
    }
    child.once('error', fail)
    child.once('exit', (code) => fail(new Error(`anvil exited (${code}) before it listened: ${out.slice(-300)}`)))
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /Listening on (127\.0\.0\.1:\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        child.removeAllListeners('exit')
        resolve(`http://${m[1]}`)
      }
    })
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  })
  child.stdout!.resume()
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    })
  return engine(anvil, http(url), url, stop)
}
