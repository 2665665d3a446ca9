import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Abi, Hex } from 'viem'

/**
 * A compiled contract (buildContracts.ts writes them at build time): beside the built code in
 * dist/contracts, or from dist/ when this is the TS source (tests run after `npm run build`).
 */
export interface Artifact {
  abi: Abi
  bytecode: Hex
}

const HERE = fileURLToPath(import.meta.url)
const DIR = HERE.endsWith('.ts') ? join(dirname(HERE), '../../../dist/contracts') : join(dirname(HERE), '../../../contracts')

export function artifact(name: string): Artifact {
  try {
    return JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')) as Artifact
  } catch (err) {
    throw new Error(`the compiled contract ${name} is missing from ${DIR}: run \`npm run build\` (${(err as Error).message})`)
  }
}
