import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { type Identity, identityFromSeed } from '../crypto/identity.js'
import { ConfigError } from './modelSpec.js'

/**
 * A node's key file: `{"format": "chorus/key/v1", "seed": "<32 bytes hex>"}`, written 0600. The seed
 * is the node's ed25519 key: it signs the node's messages and is its libp2p identity.
 */
const FORMAT = 'chorus/key/v1'

export async function writeKeyFile(path: string): Promise<Identity> {
  const seed = randomBytes(32)
  try {
    await writeFile(path, `${JSON.stringify({ format: FORMAT, seed: seed.toString('hex') })}\n`, { mode: 0o600, flag: 'wx' })
  } catch (err) {
    const code = (err as { code?: string }).code
    throw new ConfigError(code === 'EEXIST' ? `${path} exists; refusing to overwrite a key` : `cannot write ${path}: ${(err as Error).message}`)
  }
  return identityFromSeed(seed)
}

/**
 * Reads a key file, or with `env:NAME` the variable NAME holding the 64-hex seed. The variable is
 * removed once read: a key passed that way (the devnet does, so no key is ever written to disk)
 * lives only in this process and is not inherited by anything it starts.
 */
export async function readKeyFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<{ identity: Identity; seed: Buffer }> {
  if (path.startsWith('env:')) {
    const name = path.slice(4)
    const hex = env[name]
    delete env[name]
    if (hex === undefined || !/^[0-9a-f]{64}$/.test(hex)) throw new ConfigError(`${path}: the variable ${name} must hold a 64-hex-character key seed`)
    const seed = Buffer.from(hex, 'hex')
    return { identity: identityFromSeed(seed), seed }
  }
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as { code?: string }).code
    throw new ConfigError(code === 'ENOENT' ? `no key file at ${path}; create one with: chorus keygen ${path}` : `cannot read key file ${path}: ${(err as Error).message}`)
  }
  let seed: Buffer
  try {
    const k = JSON.parse(text) as { format?: string; seed?: string }
    if (k.format !== FORMAT || typeof k.seed !== 'string' || !/^[0-9a-f]{64}$/.test(k.seed)) throw new Error('bad format')
    seed = Buffer.from(k.seed, 'hex')
  } catch {
    throw new ConfigError(`${path} is not a ${FORMAT} key file`)
  }
  return { identity: identityFromSeed(seed), seed }
}
