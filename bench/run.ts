import * as bt from './bt.bench.js'
import * as round from './round.bench.js'
import { type Figure, fmt } from './stats.js'

/**
 * `npm run bench [-- name…]`: runs every benchmark, or those whose suite or figure names contain one
 * of the given names, printing each figure as `BENCH <name> <value> <unit>`.
 */
const SUITES: Record<string, { run(): Promise<Figure[]> }> = { bt, round }

const filters = process.argv.slice(2)
let printed = 0
for (const [suite, mod] of Object.entries(SUITES)) {
  if (filters.length > 0 && !filters.some((f) => suite.includes(f) || f.startsWith(suite))) continue
  for (const fig of await mod.run()) {
    if (filters.length > 0 && !filters.some((f) => suite.includes(f) || fig.name.includes(f))) continue
    console.log(fmt(fig))
    printed++
  }
}
if (printed === 0) {
  console.error(`no benchmark matches ${filters.join(' ')}; suites: ${Object.keys(SUITES).join(', ')}`)
  process.exit(2)
}
