import { readFile, writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { parsePopulation, type Population, SCENARIOS } from '../sim/population.js'
import { simReport, summarise, type TicketSweepRow, ticketSweepTable } from '../sim/report.js'
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
  --forfeit F   no-shows (default: only members that reveal nothing forfeit) or non-winners
  --sweep-tickets T,T…  also run each ticket price under both forfeit rules and report what each
                behaviour nets per round joined (the Sybil farm's return against the price)
  --out FILE    write the report there (default: print it)
`

export async function simCommand(args: string[], _signal: AbortSignal, out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const { values } = parseArgs({ args, options: { scenario: { type: 'string' }, population: { type: 'string' }, seed: { type: 'string' }, rounds: { type: 'string' }, ticket: { type: 'string' }, forfeit: { type: 'string' }, 'sweep-tickets': { type: 'string' }, out: { type: 'string' } } })
  const forfeit = values.forfeit ?? 'no-shows'
  if (forfeit !== 'no-shows' && forfeit !== 'non-winners') throw new ConfigError('--forfeit is no-shows or non-winners')
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
  const units = (s: string, what: string) => BigInt(Math.round(number(s, what, (n) => n >= 0 && n <= 1_000_000) * 1_000_000))
  const ticket = values.ticket === undefined ? undefined : units(values.ticket, '--ticket')
  const result = runSimulation({ population, rounds, seed, forfeit, ...(ticket === undefined ? {} : { ticket }) })
  let report = simReport(scenario, population, seed, result)
  if (values['sweep-tickets'] !== undefined) {
    const rows: TicketSweepRow[] = []
    for (const t of values['sweep-tickets'].split(',').map((x) => units(x.trim(), '--sweep-tickets'))) {
      for (const rule of ['no-shows', 'non-winners'] as const) {
        const r = runSimulation({ population, rounds, seed, ticket: t, forfeit: rule })
        rows.push({ ticket: t, forfeit: rule, perRound: Object.fromEntries(summarise(r).map((b) => [b.behaviour, b.perRound])) })
      }
    }
    report += `\n${ticketSweepTable(rows)}`
  }
  if (values.out === undefined) out(report)
  else {
    await writeFile(values.out, report)
    out(`report written to ${values.out}\n`)
  }
  return 0
}
