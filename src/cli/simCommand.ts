import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { accuracyOverRunSvg, collusionSvg, grindingSvg, susceptibilitySvg, ticketSvg, trajectorySvg } from '../sim/charts.js'
import { BEHAVIOURS, parsePopulation, type Population, SCENARIOS } from '../sim/population.js'
import { collusionTable, grindingTable, simReport, susceptibilityTable, ticketSweepTable } from '../sim/report.js'
import { isRecordedTask, loadRecordedTask } from '../eval/recordedFile.js'
import type { RecordedTask } from '../eval/zeroeval.js'
import { runSimulation } from '../sim/simulation.js'
import { collusionSweep, grindingSweep, type SweepBase, susceptibilitySweep, ticketSweep } from '../sim/sweeps.js'
import { ConfigError } from './modelSpec.js'
import { forfeitRule, number } from './settings.js'

export const SIM_HELP = `chorus sim --scenario <name> [--population FILE] [--seed S] [--rounds R] [--out FILE] [--charts DIR] [sweeps]

  A SIMULATION on the real protocol: modelled nodes run rounds through the real state machines,
  signatures, beacons, assignment, aggregation and a real in-memory ledger on a virtual clock; the
  report (Markdown, with SVG charts under --charts) compares the swarm with majority voting and
  says what each behaviour earned and each attack achieved.
  --scenario    ${Object.keys(SCENARIOS).join(', ')} (the population, unless --population)
  --population  JSON: {groups: [{behaviour, count, skill, judgeAccuracy, susceptibility?}], members,
                joiners?, correlation, grinder?: {tries}}; behaviours: ${BEHAVIOURS.join(', ')};
                susceptibility: {injection, flattery, rareTokens}, each a probability
  --seed S      the same seed gives the same report, byte for byte (default 1)
  --rounds R    default 50
  --ticket T    each member's ticket, in units (default 0.25: the fee is 1, and a network's
                default terms ask a quarter of the fee)
  --forfeit F   the ledger's forfeit rule: unproven (default: no-shows, and members without
                judge weight whose answer is not the winner's), no-shows, or non-winners
  --defences on|off  whether judges read answers through the hostile-text defences (default on,
                as nodes do): a dressing sways a judge by what of it survives them
  --data DIR    replay recorded answers of real models from DIR (e.g. ../shared/data) instead of
                the skill model; with --task gsm (default), math-l5, zeroeval:<name>, or replay
                with --file FILE (JSON lines: see chorus eval --help); judges stay modelled
  --out FILE    write the report there (default: print it)
  --charts DIR  write the charts there as SVG and link them from the report
  Sweeps (each reruns the scenario on the same seed, varying one thing):
  --sweep-tickets T,T…         ticket prices under each forfeit rule: what each behaviour nets
  --sweep-colluders N,N…       colluding group sizes: rounds steered, colluding and judging honestly
  --sweep-susceptibility P,P…  honest judges' susceptibility: rounds each dressed answer won, with
                               the defences and without
  --sweep-tries N,N…           a grinding coordinator's Queries per question: its friends' seats
`

const list = (s: string, what: string, ok: (n: number) => boolean) => s.split(',').map((x) => number(x.trim(), what, ok))

export async function simCommand(args: string[], _signal: AbortSignal, out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      scenario: { type: 'string' },
      population: { type: 'string' },
      seed: { type: 'string' },
      rounds: { type: 'string' },
      ticket: { type: 'string' },
      forfeit: { type: 'string' },
      out: { type: 'string' },
      data: { type: 'string' },
      task: { type: 'string' },
      file: { type: 'string' },
      charts: { type: 'string' },
      'sweep-tickets': { type: 'string' },
      'sweep-colluders': { type: 'string' },
      'sweep-susceptibility': { type: 'string' },
      'sweep-tries': { type: 'string' },
      defences: { type: 'string' },
    },
  })
  const defences = values.defences ?? 'on'
  if (defences !== 'on' && defences !== 'off') throw new ConfigError('--defences is on or off')
  const forfeit = forfeitRule(values.forfeit)
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
  const toMicro = (n: number) => BigInt(Math.round(n * 1_000_000))
  const ticketRange = (n: number) => n >= 0 && n <= 1_000_000
  const ticket = values.ticket === undefined ? undefined : toMicro(number(values.ticket, '--ticket', ticketRange))
  // Sweep values are checked before any run starts, so a typo costs nothing.
  const sweeps = {
    tickets: values['sweep-tickets'] === undefined ? undefined : list(values['sweep-tickets'], '--sweep-tickets', ticketRange).map(toMicro),
    colluders: values['sweep-colluders'] === undefined ? undefined : list(values['sweep-colluders'], '--sweep-colluders', (n) => Number.isInteger(n) && n >= 0 && n < population!.groups.reduce((s, g) => s + g.count, 0)),
    susceptibility: values['sweep-susceptibility'] === undefined ? undefined : list(values['sweep-susceptibility'], '--sweep-susceptibility', (n) => n >= 0 && n <= 1),
    tries: values['sweep-tries'] === undefined ? undefined : list(values['sweep-tries'], '--sweep-tries', (n) => Number.isInteger(n) && n >= 1 && n <= 100),
  }
  if (sweeps.tries !== undefined && population.joiners === population.members) throw new ConfigError('--sweep-tries needs a population with more joiners than members (the grinding scenario has them)')

  const task = values.task ?? 'gsm'
  if (!isRecordedTask(task)) throw new ConfigError('--task is gsm, math-l5, zeroeval:<name> or replay (with --file)')
  if (values.task !== undefined && values.data === undefined) throw new ConfigError('--task names recorded data: give --data DIR too')
  let recorded: RecordedTask | undefined
  if (values.data !== undefined) {
    try {
      recorded = await loadRecordedTask(task, values.data, values.file)
    } catch (err) {
      throw new ConfigError((err as Error).message)
    }
    const names = new Set(recorded.models)
    for (const g of population.groups) if (g.model !== undefined && !names.has(g.model)) throw new ConfigError(`no recorded model ${g.model} (the data has ${recorded.models.join(', ')})`)
  }
  const tty = process.stderr.isTTY === true
  const progress = (s: string) => {
    if (tty) process.stderr.write(`\r\x1b[2K${s}`)
  }
  // Synchronous: the default SIGINT ends it (main.ts gives sim no handler).
  const result = runSimulation({ population, rounds, seed, forfeit, defences: defences === 'on', ...(ticket === undefined ? {} : { ticket }), ...(recorded ? { recorded } : {}), onRound: (r, of) => progress(`${scenario}: round ${r}/${of}`) })
  // Charts are drawn only when asked for; the report links each by its path from the report.
  const files: Record<string, string> = {}
  const chart = (name: string, draw: () => string) => {
    if (values.charts === undefined) return undefined
    files[name] = draw()
    const path = join(values.charts, name)
    return values.out === undefined ? path : relative(dirname(values.out), path)
  }
  const links = {
    accuracy: chart('accuracy.svg', () => accuracyOverRunSvg(scenario, result)),
    judgeShare: chart('judge-weight.svg', () => trajectorySvg(scenario, result, 'judgeShare')),
    reputation: chart('reputation.svg', () => trajectorySvg(scenario, result, 'reputation')),
  }
  let report = simReport(scenario, population, seed, result, Object.fromEntries(Object.entries(links).filter(([, v]) => v !== undefined)))
  const base: SweepBase = { population, rounds, seed, ...(recorded ? { recorded } : {}), onRun: (label) => progress(`${scenario} sweep: ${label}`) }
  if (sweeps.tickets) {
    const rows = ticketSweep(base, sweeps.tickets!)
    const behaviour = population.groups.some((g) => g.behaviour === 'sybil') ? 'sybil' : population.groups[population.groups.length - 1]!.behaviour
    report += `\n${ticketSweepTable(rows, chart('tickets.svg', () => ticketSvg(rows, behaviour)))}`
  }
  if (sweeps.colluders) {
    const rows = collusionSweep(base, sweeps.colluders!)
    report += `\n${collusionTable(rows, chart('collusion.svg', () => collusionSvg(rows)))}`
  }
  if (sweeps.susceptibility) {
    const rows = susceptibilitySweep(base, sweeps.susceptibility!)
    report += `\n${susceptibilityTable(rows, chart('susceptibility.svg', () => susceptibilitySvg(rows)))}`
  }
  if (sweeps.tries) {
    const rows = grindingSweep(base, sweeps.tries!)
    report += `\n${grindingTable(rows, chart('grinding.svg', () => grindingSvg(rows)))}`
  }
  progress('')
  if (values.charts !== undefined) {
    await mkdir(values.charts, { recursive: true })
    for (const [name, svg] of Object.entries(files)) await writeFile(join(values.charts, name), svg)
  }
  if (values.out === undefined) out(report)
  else {
    await writeFile(values.out, report)
    out(`report written to ${values.out}${values.charts === undefined ? '' : `, charts to ${values.charts}`}\n`)
  }
  return 0
}
