import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { formatUnits, parseAmount, parseUnits, splitLargestRemainder } from '../../src/ledger/amount.js'
import { calibrate, newReputation, withWeight, judgeWeightMicro, updateReputation } from '../../src/ledger/reputation.js'
import { DEFAULT_CALIBRATION } from '../../src/ledger/calibration.js'
import { DEFAULT_SETTLEMENT_RULES, type RoundFacts, settle } from '../../src/ledger/settlement.js'
import type { RoundOutcome } from '../../src/round/outcome.js'

const id = (i: number) => i.toString(16).padStart(64, '0')
const sum = (m: Map<string, bigint>) => [...m.values()].reduce((a, x) => a + x, 0n)

/** A ranked round of n answers, node i ranked i-th, with scores falling by `gap` micro-units. */
function facts(n: number, over: Partial<RoundFacts> = {}, gap = 300_000): RoundFacts {
  const nodes = Array.from({ length: n }, (_, i) => id(i + 1))
  const outcome: RoundOutcome = {
    ranked: true,
    winner: nodes[0]!,
    answer: 'a',
    separated: true,
    scores: nodes.map((node, i) => ({ node, score: -i * gap, theta: -i * gap, lo: 0, hi: 0, support: 1 })),
    baselines: { majority: nodes[0]!, weightedBt: nodes[0]!, unweighted: nodes[0]! },
    abstentions: 0,
    verdictCount: 0,
    excluded: [],
  }
  const verdicts = nodes.map((judge, k) => ({ judge, verdicts: [{ a: nodes[(k + 1) % n]!, b: nodes[(k + 2) % n]!, v: 'A' as const, p: -1 }] }))
  return { coordinator: id(999), fee: 1_000_000n, ticket: 10_000n, joiners: nodes, members: nodes, revealed: nodes, winners: [nodes[0]!], outcome, verdicts, ...over }
}

describe('amounts', () => {
  it('parses and formats micro-units exactly', () => {
    expect(parseUnits('12.5')).toBe(12_500_000n)
    expect(parseUnits('0.000001')).toBe(1n)
    expect(formatUnits(12_500_000n)).toBe('12.5')
    expect(formatUnits(-1n)).toBe('-0.000001')
    expect(() => parseUnits('1.0000001')).toThrow(RangeError)
    expect(() => parseAmount('-5')).toThrow(RangeError)
    expect(() => parseAmount('1e3')).toThrow(RangeError)
  })

  it('a largest-remainder split always sums to the total, and no share differs from its exact proportion by a unit or more', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 18n }), fc.array(fc.bigInt({ min: 0n, max: 10n ** 12n }), { minLength: 1, maxLength: 40 }), (total, ws) => {
        fc.pre(ws.some((w) => w > 0n))
        const shares = splitLargestRemainder(total, ws)
        const W = ws.reduce((a, b) => a + b, 0n)
        expect(shares.reduce((a, b) => a + b, 0n)).toBe(total)
        shares.forEach((s, i) => {
          const exactTimesW = total * ws[i]!
          expect(s * W <= exactTimesW + W && s * W >= exactTimesW - W).toBe(true)
        })
      }),
    )
  })
})

describe('settlement', () => {
  it('conserves the pool exactly, never pays a negative amount, and pays by rank (monotonic), for any round', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.bigInt({ min: 0n, max: 10n ** 9n }),
        fc.integer({ min: 0, max: 2_000_000 }),
        fc.constantFrom('unproven' as const, 'no-shows' as const, 'non-winners' as const),
        fc.integer({ min: 0, max: 40 }),
        (n, fee, ticket, gap, forfeit, noShows) => {
          const f = facts(n, { fee, ticket }, gap)
          const revealed = f.members.slice(0, Math.max(1, n - noShows))
          const s = settle({ ...f, revealed, outcome: { ...f.outcome, scores: f.outcome.scores.filter((x) => revealed.includes(x.node)) } }, { ...DEFAULT_SETTLEMENT_RULES, forfeit }, () => 1_000_000n)
          expect(sum(s.rewards)).toBe(s.pool)
          expect(s.pool).toBe(fee + sum(s.forfeits))
          expect(sum(s.forfeits) + sum(s.unlocks)).toBe(ticket * BigInt(ticket > 0n ? n : 0))
          for (const x of s.rewards.values()) expect(x >= 0n).toBe(true)
          // Among answerers (judging aside), a better rank never earns less.
          const asAnswerer = settle({ ...f, revealed, verdicts: [], outcome: { ...f.outcome, scores: f.outcome.scores.filter((x) => revealed.includes(x.node)) } }, { ...DEFAULT_SETTLEMENT_RULES, forfeit }, () => 0n)
          const paid = revealed.map((node) => asAnswerer.rewards.get(node) ?? 0n)
          for (let i = 1; i < paid.length; i++) expect(paid[i]! <= paid[i - 1]!).toBe(true)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('pays 70 % to the top half by strength^1.5 and 30 % to judges by weight × verdicts; returns tickets; forfeits no-shows', () => {
    const f = facts(4, { revealed: [id(1), id(2), id(3)] })
    f.outcome.scores.pop()
    const s = settle(f, DEFAULT_SETTLEMENT_RULES, (j) => (j === id(2) ? 2_000_000n : 1_000_000n))
    expect(s.forfeits).toEqual(new Map([[id(4), 10_000n]]))
    expect([...s.unlocks.keys()].sort()).toEqual([id(1), id(2), id(3)])
    expect(s.pool).toBe(1_010_000n)
    // 707 000 to answerers: the top half of 3 is 2, weighted 1 : e^(1.5 · −0.3).
    const [a1, a2] = splitLargestRemainder(707_000n, [1_000_000_000n, BigInt(Math.round(1e9 * Math.exp(-0.45)))])
    // 303 000 to judges: four gave one verdict each; id(2) weighs twice, so 2/5 and 1/5 each.
    expect(Object.fromEntries(s.rewards)).toEqual({ [id(1)]: a1! + 60_600n, [id(2)]: a2! + 121_200n, [id(3)]: 60_600n, [id(4)]: 60_600n })
    expect(sum(s.rewards)).toBe(1_010_000n)
  })

  it('under the strict rule every non-winner forfeits; an unranked round pays its winner alone; no judges means all to answerers', () => {
    const strict = settle(facts(3), { ...DEFAULT_SETTLEMENT_RULES, forfeit: 'non-winners' }, () => 0n)
    expect([...strict.forfeits.keys()].sort()).toEqual([id(2), id(3)])
    expect(sum(strict.rewards)).toBe(1_020_000n)
    const f = facts(2)
    const unranked = settle({ ...f, outcome: { ...f.outcome, ranked: false, scores: [] } }, { ...DEFAULT_SETTLEMENT_RULES, forfeit: 'no-shows' }, () => 0n)
    expect(unranked.rewards).toEqual(new Map([[id(1), 1_000_000n]]))
  })

  it("under the default rule a member without judge weight forfeits unless its answer is the winner's; a proven member keeps its ticket", () => {
    expect(DEFAULT_SETTLEMENT_RULES.forfeit).toBe('unproven')
    // Nodes 1 and 2 gave the winning answer; 3 and 4 did not. Nodes 2 and 4 weigh nothing as judges.
    const f = facts(4, { winners: [id(1), id(2)] })
    const weight = (j: string) => (j === id(2) || j === id(4) ? 0n : 1_000_000n)
    const s = settle(f, DEFAULT_SETTLEMENT_RULES, weight)
    expect([...s.forfeits.keys()]).toEqual([id(4)])
    expect([...s.unlocks.keys()].sort()).toEqual([id(1), id(2), id(3)])
    expect(s.pool).toBe(1_010_000n)
    expect(sum(s.rewards)).toBe(s.pool)
    // The same round under 'no-shows': nobody forfeits.
    expect(settle(f, { ...DEFAULT_SETTLEMENT_RULES, forfeit: 'no-shows' }, weight).forfeits.size).toBe(0)
  })
})

describe('reputation', () => {
  it('moves answerers a tenth of the way to their normalised rank and weighs judges by agreement, in integers', () => {
    const f = facts(3)
    // A ledger from before calibration: agreement alone.
    const legacy = newReputation(undefined)
    const next = updateReputation(f, () => legacy, undefined)
    expect(next.get(id(1))!.answerPpm).toBe(550_000)
    expect(next.get(id(3))!.answerPpm).toBe(450_000)
    // Judge 1 said node 2 beat node 3 (right); judge 2 said node 3 beat node 1 (wrong).
    expect(next.get(id(1))!.judgeAgreedHalves).toBe(2)
    expect(next.get(id(2))!.judgeAgreedHalves).toBe(0)
    expect(next.get(id(1))!.weightMicro).toBe(Math.round(1e6 * Math.log(0.8 / 0.2)))
    expect(next.get(id(1))!.weightMicro).toBeGreaterThan(next.get(id(2))!.weightMicro)
    expect(Number.isInteger(next.get(id(2))!.weightMicro)).toBe(true)
    expect(judgeWeightMicro({ ...legacy, judgeVerdicts: 100 }, undefined)).toBe(0)
    expect(updateReputation({ ...f, outcome: { ...f.outcome, ranked: false } }, () => legacy, undefined).size).toBe(0)
  })

  it('under calibration rules: no weight before passing, graded judgements outweigh agreement, and a judge below the floor must pass again', () => {
    const cal = DEFAULT_CALIBRATION
    const fresh = newReputation(cal)
    expect(fresh.weightMicro).toBe(0)
    // 16 of 20: not passed; it waits, and twice as long after a second failure.
    const failed = calibrate(fresh, 16, 20, 1_000, cal)
    expect(failed).toMatchObject({ calibrated: false, weightMicro: 0, calFailures: 1, calRetryAt: 1_000 + cal.retryMs })
    expect(calibrate(failed, 10, 20, 2_000, cal).calRetryAt).toBe(2_000 + 2 * cal.retryMs)
    // 18 of 20: admitted, weighed by (18 + 3) / (20 + 4).
    const passed = calibrate(failed, 18, 20, 5_000, cal)
    expect(passed).toMatchObject({ calibrated: true, calFailures: 0, calRight: 34, calTotal: 40 })
    expect(passed.weightMicro).toBe(Math.round(1e6 * Math.log(37 / 44 / (1 - 37 / 44))))
    // A hundred verdicts agreeing with consensus count as ten graded ones.
    const herded = judgeWeightMicro({ ...passed, judgeAgreedHalves: 200, judgeVerdicts: 100 }, cal)
    expect(herded).toBe(Math.round(1e6 * Math.log(47 / 54 / (1 - 47 / 54))))
    // Disagreeing with consensus round after round drags it below the floor: it must pass again.
    expect(withWeight({ ...passed, judgeAgreedHalves: 0, judgeVerdicts: 400 }, cal)).toMatchObject({ calibrated: false, weightMicro: 0 })
  })
})
