import { readFile, writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { parsePopulation, type Population, SCENARIOS } from '../sim/population.js'
import { simReport } from '../sim/report.js'
import { runSimulation } from '../sim/simulation.js'
import { ConfigError } from './modelSpec.js'
import { number } from './settings.js'

export const SIM_HELP = `chorus sim --scenario <name> [--population FILE] [--seed S] [--rounds R] [--out FILE]

  A SIMULATION on the real protocol: modelled nodes run rounds through the real state machines,
  signatures, assignment, aggregation and a real in-memory ledger on a virtual clock, and the
  report (Markdown) compares the swarm with majority voting and what each behaviour earned.
  --scenario    ${Object.keys(SCENARIOS).join(', ')} (the population, unless --population)
  --population  JSON: {groups: [{behaviour, count, skill, judgeAccuracy}], members, correlation};
                behaviours: honest, lazy, sybil, colluder, no-show
  --seed S      the same seed gives the same report, byte for byte (default 1)
  --rounds R    default 50
  --ticket T    each member's ticket, in units (default 0.01)
  --out FILE    write the report there (default: print it)
`

export async function simCommand(args: string[], _signal: AbortSignal, out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const { values } = parseArgs({ args, options: { scenario: { type: 'string' }, population: { type: 'string' }, seed: { type: 'string' }, rounds: { type: 'string' }, ticket: { type: 'string' }, out: { type: 'string' } } })
  const scenario = values.scenario ?? 'baseline'
  let population: Population | undefined = SCENARIOS[scenario]
  if (values.population !== undefined) {
    try {
      population = parsePopulation(JSON.parse(await readFile(values.population, 'utf8')))
    } catch (err) {
      throw new ConfigError(`${values.population}: ${(err as Error).message}`)
    }
  }
  if (population === undefined) throw new ConfigError(`no scenario ${scenario} (known: ${Object.keys(SCENARIOS).join(', ')}); or give --population FILE`)
  const rounds = number(values.rounds ?? 50, '--rounds', (n) => Number.isInteger(n) && n >= 1 && n <= 100_000)
  const seed = values.seed ?? '1'
  const ticket = values.ticket === undefined ? undefined : BigInt(Math.round(number(values.ticket, '--ticket', (n) => n >= 0) * 1_000_000))
  const result = runSimulation({ population, rounds, seed, ...(ticket === undefined ? {} : { ticket }) })
  const report = simReport(scenario, population, seed, result)
  if (values.out === undefined) out(report)
  else {
    await writeFile(values.out, report)
    out(`report written to ${values.out}\n`)
  }
  return 0
}
