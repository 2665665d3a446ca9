import * as bt from './bt.bench.js'
import * as dashboard from './dashboard.bench.js'
import * as devnet from './devnet.bench.js'
import * as evm from './evm.bench.js'
import * as gateway from './gateway.bench.js'
import * as ledger from './ledger.bench.js'
import * as libp2p from './libp2p.bench.js'
import * as maths from './maths.bench.js'
import * as memory from './memory.bench.js'
import * as hostile from './hostile.bench.js'
import * as prefilter from './prefilter.bench.js'
import * as recovery from './recovery.bench.js'
import * as models from './models.bench.js'
import * as round from './round.bench.js'
import * as sandbox from './sandbox.bench.js'
import * as sim from './sim.bench.js'
import { sizeThreadPoolToCores } from '../src/runtime/threadPool.js'
import { type Figure, fmt } from './stats.js'

/**
 * `npm run bench [-- name…]`: runs every benchmark, or the suites whose name or figure names
 * contain one of the given names, printing each figure as `BENCH <name> <value> <unit>`.
 */
interface Suite {
  figures: readonly string[]
  run(): Promise<Figure[]>
}

const SUITES: Record<string, Suite> = { bt, round, models, gateway, dashboard, maths, prefilter, hostile, sandbox, memory, ledger, evm, sim, libp2p, devnet, recovery }

sizeThreadPoolToCores()
const filters = process.argv.slice(2)
const wanted = (name: string) => filters.length === 0 || filters.some((f) => name.includes(f))
let printed = 0
for (const [name, suite] of Object.entries(SUITES)) {
  const suiteWanted = wanted(name)
  if (!suiteWanted && !suite.figures.some(wanted)) continue
  for (const fig of await suite.run()) {
    if (!suiteWanted && !wanted(fig.name)) continue
    console.log(fmt(fig))
    printed++
  }
}
if (printed === 0) {
  console.error(`no benchmark matches ${filters.join(' ')}; suites: ${Object.entries(SUITES).map(([n, s]) => `${n} (${s.figures.join(', ')})`).join('; ')}`)
  process.exit(2)
}
