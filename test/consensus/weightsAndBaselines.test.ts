import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { aggregate } from '../../src/consensus/aggregate.js'
import { majorityVote } from '../../src/consensus/baselines.js'
import { capShares, logOddsWeight } from '../../src/consensus/judgeWeights.js'
import { RULES_VERSIONS } from '../../src/protocol/rulesVersions.js'
import { genesisLedgerView } from '../../src/round/ledgerView.js'
import { computeOutcome } from '../../src/round/outcome.js'

describe('judge weights', () => {
  it('is zero at or below chance, increasing above it, and finite at 1', () => {
    expect(logOddsWeight(0.3)).toBe(0)
    expect(logOddsWeight(0.5)).toBe(0)
    expect(logOddsWeight(0.7)).toBeCloseTo(Math.log(0.7 / 0.3), 12)
    expect(logOddsWeight(0.9)).toBeGreaterThan(logOddsWeight(0.7))
    expect(Number.isFinite(logOddsWeight(1))).toBe(true)
  })

  it('caps every share at maxShare where feasible, keeping order and zeros', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(0), fc.double({ min: 1e-3, max: 10, noNaN: true })), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.double({ min: 0.05, max: 1, noNaN: true }),
        (ws, share) => {
          const capped = capShares(ws, share)
          const total = capped.reduce((a, b) => a + b, 0)
          const positive = ws.filter((w) => w > 0).length
          if (positive === 0) {
            expect(total).toBe(0)
            return
          }
          const limit = Math.max(share, 1 / positive)
          for (let i = 0; i < ws.length; i++) {
            expect(capped[i]! / total).toBeLessThanOrEqual(limit + 1e-9)
            if (ws[i]! <= 0) expect(capped[i]).toBe(0)
            for (let j = 0; j < ws.length; j++)
              if (ws[i]! <= ws[j]!) expect(capped[i]!).toBeLessThanOrEqual(capped[j]! + 1e-12)
          }
        },
      ),
    )
  })
})

describe('baselines and aggregation', () => {
  it('groups final answers for the majority vote', () => {
    const v = majorityVote(['42', 'Forty', ' 42 ', '41', 'The answer is 42.'])
    expect(v.winner).toBe(0)
    expect(v.support).toEqual([3, 1, 3, 1, 3])
  })

  it('follows the weighted judges, while the unweighted fit follows the crowd of judges', () => {
    const answers = ['a', 'b', 'c'].map((o) => ({ owner: o, text: o, tieBreak: o }))
    // Judge "good" prefers a over b (in both orders); three weak judges prefer b over a.
    const verdicts = [
      { judge: 'good', a: 'a', b: 'b', v: 'A' as const },
      { judge: 'good', a: 'b', b: 'a', v: 'B' as const },
      { judge: 'weak1', a: 'a', b: 'b', v: 'B' as const },
      { judge: 'weak2', a: 'b', b: 'a', v: 'A' as const },
      { judge: 'weak3', a: 'a', b: 'b', v: 'B' as const },
      { judge: 'good', a: 'a', b: 'c', v: 'A' as const },
      { judge: 'weak1', a: 'b', b: 'c', v: 'A' as const },
      { judge: 'weak2', a: 'c', b: 'b', v: 'U' as const },
    ]
    const agg = aggregate({
      answers,
      verdicts,
      judgeWeight: (j) => (j === 'good' ? 3 : 0.5),
      maxJudgeShare: 1,
    })
    expect(agg.winner).toBe(0)
    expect(agg.baselines.unweightedWinner).toBe(1)
    expect(agg.abstentions).toBe(1)
    for (let i = 0; i < 3; i++) expect(agg.lo[i]!).toBeLessThan(agg.hi[i]!)
    // With a cap on its share, the good judge's lead shrinks.
    const capped = aggregate({
      answers,
      verdicts,
      judgeWeight: (j) => (j === 'good' ? 3 : 0.5),
      maxJudgeShare: 0.34,
    })
    expect(capped.theta[0]! - capped.theta[1]!).toBeLessThan(agg.theta[0]! - agg.theta[1]!)
  })

  it("breaks the majority vote's ties toward the first answer in the round's order, whatever the judge weights", () => {
    // Two groups of two (answers in owner order, as a round holds them): the vote is a tie.
    const answers = ['n1', 'n2', 'n3', 'n4'].map((o, k) => ({ owner: o, text: ['7', '8', '8', '7'][k]!, tieBreak: ['d', 'c', 'b', 'a'][k]! }))
    const verdicts = [
      { judge: 'n1', a: 'n2', b: 'n3', v: 'A' as const },
      { judge: 'n2', a: 'n1', b: 'n4', v: 'B' as const },
      { judge: 'n3', a: 'n4', b: 'n1', v: 'A' as const },
    ]
    const picks = [() => 1, (j: string) => (j === 'n1' ? 5 : 0.1), (j: string) => (j === 'n3' ? 5 : 0.1)].map(
      (judgeWeight) => aggregate({ answers, verdicts, judgeWeight, maxJudgeShare: 1 }).baselines.majorityWinner,
    )
    expect(picks).toEqual([0, 0, 0])
  })

  it('keeps the majority baseline where it was when zero judge weights leave the round unranked', () => {
    const answers = ['n1', 'n2', 'n3', 'n4'].map((o, k) => ({ owner: o, text: ['7', '8', '8', '7'][k]!, commitHash: ['d', 'c', 'b', 'a'][k]! }))
    const verdicts = [{ judge: 'n1', verdicts: [{ a: 'n2', b: 'n3', v: 'A' as const, p: -1 }] }]
    const rules = RULES_VERSIONS.get(1)!.rules
    const ranked = computeOutcome(answers, verdicts, genesisLedgerView(), rules)
    const silent = computeOutcome(answers, verdicts, genesisLedgerView(() => 0), rules)
    expect(ranked.ranked).toBe(true)
    expect(silent.baselines.majority).toBe(ranked.baselines.majority)
    expect(silent.baselines.majority).toBe('n1')
  })

  it('breaks exact ties by the tie-break key', () => {
    const answers = ['x', 'y', 'z'].map((o, k) => ({ owner: o, text: o, tieBreak: ['9', '1', '5'][k]! }))
    const agg = aggregate({ answers, verdicts: [], judgeWeight: () => 1, maxJudgeShare: 1 })
    expect(agg.order).toEqual([1, 2, 0])
  })
})
