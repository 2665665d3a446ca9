import { defenceSurvival } from '../../src/sim/behaviours.js'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadZeroEval } from '../../src/eval/zeroeval.js'
import { parsePopulation, SCENARIOS } from '../../src/sim/population.js'
import { simReport, summarise } from '../../src/sim/report.js'
import { runSimulation } from '../../src/sim/simulation.js'
import { collusionSweep, grindingSweep, susceptibilitySweep } from '../../src/sim/sweeps.js'

/** The shared data beside the project (as in CI); the replay test skips, saying so, without it. */
const DATA = resolve(process.env.CHORUS_DATA ?? '../shared/data')
const data = existsSync(`${DATA}/zeroeval/math-l5`)
if (!data) console.warn(`skipping the simulator's replay test: no data at ${DATA} (set CHORUS_DATA)`)

/** The simulator: modelled nodes on the real round code and ledger, reproducible from a seed. */
describe('chorus sim', () => {
  it('gives the same report for the same seed, byte for byte, and another for another seed', () => {
    const run = (seed: string) => simReport('baseline', SCENARIOS.baseline!, seed, runSimulation({ population: SCENARIOS.baseline!, rounds: 12, seed }))
    const a = run('1')
    expect(run('1')).toBe(a)
    expect(run('2')).not.toBe(a)
    expect(a).toMatch(/Seed `1`; 12 rounds; each round 7 nodes drawn at random join and the ledger's members beacon seats 7 of them; 45 nodes in all/)
  })

  it('keeps a Sybil farm of weak identities out of judging, and earning less per round than honest nodes', () => {
    const result = runSimulation({ population: SCENARIOS.sybil!, rounds: 30, seed: '7' })
    const by = Object.fromEntries(summarise(result).map((b) => [b.behaviour, b]))
    // Judges at chance fail the 17-of-20 challenge; capable ones pass it.
    expect(by.sybil!.calibrated).toBe(0)
    // (At judge accuracy 0.8, 17 of 20 right is passed about 4 times in 10.)
    expect(by.honest!.calibrated).toBeGreaterThan(5)
    expect(by.sybil!.perRound).toBeLessThan(by.honest!.perRound)
    // Their correlated wrong answers win the vote; peer ranking by calibrated judges does not follow.
    const share = (f: (r: (typeof result.rounds)[number]) => boolean) => result.rounds.filter(f).length / result.rounds.length
    expect(share((r) => r.swarmRight)).toBeGreaterThan(share((r) => r.majorityRight) + 0.15)
    // Money is conserved: what the nodes gained, the gateway paid in fees (a hidden round's too).
    expect(result.hiddenRounds).toBe(1)
    const gained = result.nodes.reduce((s, n) => s + n.gain, 0n)
    expect(gained).toBe(result.fee * BigInt(result.rounds.length + result.hiddenRounds))
  })

  it("takes a no-show's ticket every round it is seated in", () => {
    const population = parsePopulation({ members: 5, groups: [{ behaviour: 'honest', count: 8, skill: 0.8, judgeAccuracy: 0.9 }, { behaviour: 'no-show', count: 2, skill: 0, judgeAccuracy: 0.5 }] })
    const result = runSimulation({ population, rounds: 10, seed: '3', ticket: 20_000n })
    const absent = result.nodes.filter((n) => n.behaviour === 'no-show' && n.joined > 0)
    expect(absent.length).toBeGreaterThan(0)
    for (const n of absent) expect(n.gain).toBe(-20_000n * BigInt(n.joined))
  })

  it('never lets a copier profit: every answer it reveals in place of its commitment is refused, and its ticket forfeited', () => {
    const result = runSimulation({ population: SCENARIOS.copier!, rounds: 20, seed: '5' })
    const copies = result.rounds.reduce((s, r) => s + r.copies, 0)
    expect(copies).toBeGreaterThan(5)
    expect(result.rounds.reduce((s, r) => s + r.copiesRefused, 0)).toBe(copies)
    const copiers = result.nodes.filter((n) => n.behaviour === 'copier')
    for (const n of copiers) expect(n.gain).toBe(-result.ticket * BigInt(n.joined))
    expect(result.rounds.every((r) => r.winner !== 'copier')).toBe(true)
  })

  it("makes a Sybil farm lose money at the default ticket and forfeit rule, while honest nodes that never passed calibration still gain", () => {
    const run = (o: { ticket?: bigint; forfeit?: 'unproven' | 'no-shows' | 'non-winners' } = {}) => summarise(runSimulation({ population: SCENARIOS.sybil!, rounds: 40, seed: '1', ...o }))
    const net = (rows: ReturnType<typeof run>, b: string) => rows.find((x) => x.behaviour === b)!
    // The defaults: a ticket of a quarter of the fee, and unproven members whose answer loses forfeit it.
    const defaults = run()
    expect(net(defaults, 'sybil').calibrated).toBe(0)
    expect(net(defaults, 'sybil').roi).toBeLessThan(0)
    expect(net(defaults, 'honest').perRound).toBeGreaterThan(0)
    expect(net(defaults, 'honest').perRoundUncalibrated).toBeGreaterThan(0)
    // Only-no-shows-forfeit gives a genuine weak answer its ticket back at any price: the farm gains.
    expect(net(run({ forfeit: 'no-shows' }), 'sybil').perRound).toBeGreaterThan(0)
    // The reference's 1 % does not deter it under any rule here.
    for (const forfeit of ['unproven', 'no-shows', 'non-winners'] as const) expect(net(run({ ticket: 10_000n, forfeit }), 'sybil').perRound).toBeGreaterThan(0)
  })

  it("bounds a colluding group's influence by its share of the seats, as the report states", () => {
    // 60 rounds: at 40, one round either way decides the comparisons below.
    const rows = collusionSweep({ population: SCENARIOS.collusion!, rounds: 60, seed: '1' }, [5, 10])
    for (const r of rows) {
      // Judging honestly, the same nodes' wrong answers (almost) never win; colluding, they win
      // some — in at most half as many rounds as the share of seats they hold, plus 3 points.
      expect(r.steeredHonestly).toBeLessThanOrEqual(0.025)
      expect(r.steered).toBeGreaterThanOrEqual(r.steeredHonestly)
      expect(r.steered).toBeLessThanOrEqual(r.seatShare / 2 + 0.03)
    }
    expect(rows[1]!.steered).toBeGreaterThanOrEqual(rows[0]!.steered)
  })

  it("keeps colluders from throwing honest answers out with the prefilter's marks (they mark every answer but their friends')", () => {
    const result = runSimulation({ population: SCENARIOS.collusion!, rounds: 40, seed: '3' })
    const left = result.rounds.reduce((s, r) => s + (r.excluded.honest ?? 0), 0)
    expect(left).toBe(0)
    expect(result.rounds.every((r) => r.excludedRight === 0)).toBe(true)
    // Lazy nodes' empty answers are still left out (the baseline scenario).
    const baseline = runSimulation({ population: SCENARIOS.baseline!, rounds: 20, seed: '3' })
    expect(baseline.rounds.reduce((s, r) => s + (r.excluded.lazy ?? 0), 0)).toBeGreaterThan(0)
  })

  it('lets dressed wrong answers win more as judges grow susceptible to them', () => {
    const [none, high] = susceptibilitySweep({ population: SCENARIOS.injection!, rounds: 30, seed: '2' }, [0, 0.6])
    const wins = (r: typeof none) => Object.values(r!.won).reduce((s, x) => s + x, 0)
    expect(wins(high)).toBeGreaterThan(wins(none) + 0.3)
    expect(high!.swarm).toBeLessThan(none!.swarm)
    // Read raw (no defences), the rare-token dressing pulls at its full susceptibility; through them, at what survives.
    expect(defenceSurvival('injection')).toBe(1)
    expect(defenceSurvival('rareTokens')).toBeLessThan(0.5)
    expect(high!.raw.won.rareTokens!).toBeGreaterThan(high!.won.rareTokens!)
  })

  it('makes a grinding coordinator pay a forfeited fee for every round it abandons after seeing the beacon', () => {
    const population = SCENARIOS.grinding!
    const result = runSimulation({ population, rounds: 15, seed: '4' })
    const abandoned = result.rounds.reduce((s, r) => s + r.tries - 1, 0)
    expect(abandoned).toBeGreaterThan(0)
    expect(result.feesForfeited).toBe(result.fee * BigInt(abandoned))
    // The nodes got their tickets back from every abandoned round: what they gained, the settled rounds paid.
    expect(result.nodes.reduce((s, n) => s + n.gain, 0n)).toBe(result.fee * BigInt(result.rounds.length + result.hiddenRounds))
    // 30 rounds: an honest coordinator's members hold half the seats in a round or two of 15 by chance.
    const [honest, grinding] = grindingSweep({ population, rounds: 30, seed: '4' }, [1, 8])
    expect(honest!.forfeitedPerQuestion).toBe(0)
    expect(grinding!.packed).toBeGreaterThanOrEqual(honest!.packed)
  })

  it.skipIf(!data)('replays recorded answers of real models: each node gives its model\'s reply, scored against the gold', async () => {
    const recorded = await loadZeroEval(DATA, 'math-l5')
    const population = parsePopulation({ members: 7, groups: [{ behaviour: 'honest', count: 11, skill: 0.5, judgeAccuracy: 0.8 }, { behaviour: 'sybil', count: 4, skill: 0.5, judgeAccuracy: 0.5, model: recorded.models[0] }] })
    const result = runSimulation({ population, rounds: 12, seed: '1', recorded })
    expect(result.replayed).toEqual({ task: 'math-l5', models: recorded.models, questions: 721 })
    // The right answers are the models' own: on math-l5 some rounds have none at all.
    const present = result.rounds.filter((r) => r.rightPresent).length
    expect(present).toBeGreaterThan(0)
    expect(result.rounds.filter((r) => r.swarmRight).length).toBeLessThanOrEqual(present)
    const report = simReport('replay', population, '1', result)
    expect(report).toMatch(/REPLAYED from recorded outputs of real models \(ZeroEval math-l5: 11 models, 721 questions/)
    expect(() => runSimulation({ population: parsePopulation({ members: 3, groups: [{ behaviour: 'honest', count: 5, skill: 1, judgeAccuracy: 1, model: 'gpt-99' }] }), rounds: 1, seed: '1', recorded })).toThrow(/no recorded model gpt-99/)
  })

  it('refuses a population that is not one, saying what is wrong', () => {
    expect(() => parsePopulation({ groups: [] })).toThrow(/a population is/)
    expect(() => parsePopulation({ groups: [{ behaviour: 'wizard', count: 3, skill: 1, judgeAccuracy: 1 }] })).toThrow(/behaviour is one of/)
    expect(() => parsePopulation({ groups: [{ behaviour: 'honest', count: 5, skill: 2, judgeAccuracy: 1 }] })).toThrow(/probabilities/)
    expect(() => parsePopulation({ groups: [{ behaviour: 'honest', count: 5, skill: 1, judgeAccuracy: 1 }], members: 9 })).toThrow(/members is a whole number from 3 to 5/)
    expect(() => parsePopulation({ groups: [{ behaviour: 'honest', count: 9, skill: 1, judgeAccuracy: 1, susceptibility: { charm: 0.5 } }] })).toThrow(/susceptibility names injection/)
    expect(() => parsePopulation({ groups: [{ behaviour: 'honest', count: 9, skill: 1, judgeAccuracy: 1 }], members: 5, joiners: 4 })).toThrow(/joiners is a whole number from members/)
    expect(() => parsePopulation({ groups: [{ behaviour: 'honest', count: 9, skill: 1, judgeAccuracy: 1 }], members: 5, grinder: { tries: 3 } })).toThrow(/more joiners than members/)
  })
})
