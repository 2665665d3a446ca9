import { readFile, writeFile } from 'node:fs/promises'
import type { LocalAccount } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { ConfigError } from './modelSpec.js'

/**
 * An EVM key file: `{"format": "chorus/evm-key/v1", "privateKey": "0x…"}`, written 0600 and never
 * overwritten. The sequencer, each verifier and each account holder that pays on the chain has one.
 */
const FORMAT = 'chorus/evm-key/v1'

export async function writeEvmKey(path: string): Promise<LocalAccount> {
  const privateKey = generatePrivateKey()
  try {
    await writeFile(path, `${JSON.stringify({ format: FORMAT, privateKey })}\n`, { mode: 0o600, flag: 'wx' })
  } catch (err) {
    const code = (err as { code?: string }).code
    throw new ConfigError(code === 'EEXIST' ? `${path} exists; refusing to overwrite a key` : `cannot write ${path}: ${(err as Error).message}`)
  }
  return privateKeyToAccount(privateKey)
}

export async function readEvmKey(path: string): Promise<LocalAccount> {
  let parsed: { format?: unknown; privateKey?: unknown }
  try {
    parsed = JSON.parse(await readFile(path, 'utf8')) as typeof parsed
  } catch (err) {
    throw new ConfigError(`cannot read the EVM key ${path}: ${(err as Error).message} (chorus ledger evm-key ${path} makes one)`)
  }
  if (parsed.format !== FORMAT || typeof parsed.privateKey !== 'string' || !/^0x[0-9a-f]{64}$/.test(parsed.privateKey)) throw new ConfigError(`${path} is not a Chorus EVM key file`)
  return privateKeyToAccount(parsed.privateKey as `0x${string}`)
}
