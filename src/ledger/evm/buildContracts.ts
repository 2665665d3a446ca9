import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import solc from 'solc'

/**
 * The build step that compiles `contracts/*.sol` with solc-js 0.8.28 (offline: Hardhat's own
 * compiler download needs the network) into `dist/contracts/<Name>.json` ({abi, bytecode}), one
 * file per deployable contract. `npm run build` runs it after tsc; artifacts.ts reads the files.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../..')
const SOURCES = join(ROOT, 'contracts')
const OUT = join(ROOT, 'dist/contracts')

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[]
  contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>
}

const files = readdirSync(SOURCES).filter((f) => f.endsWith('.sol'))
const input = {
  language: 'Solidity',
  sources: Object.fromEntries(files.map((f) => [f, { content: readFileSync(join(SOURCES, f), 'utf8') }])),
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    viaIR: true,
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
}
const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput
const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
for (const e of output.errors ?? []) console.error(e.formattedMessage)
if (errors.length > 0) {
  console.error(`contracts: ${errors.length} error(s); nothing written`)
  process.exit(1)
}
mkdirSync(OUT, { recursive: true })
let written = 0
for (const contracts of Object.values(output.contracts ?? {})) {
  for (const [name, c] of Object.entries(contracts)) {
    // Abstract contracts and libraries used only internally have no deployable code.
    if (c.evm.bytecode.object.length === 0 || c.abi.length === 0) continue
    writeFileSync(join(OUT, `${name}.json`), `${JSON.stringify({ abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` })}\n`)
    written++
  }
}
console.log(`contracts: ${written} compiled with solc ${solc.version()}`)
