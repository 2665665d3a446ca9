import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { assignComparisons, judgesPerUnit } from '../../src/consensus/assignment.js'
import { hashParts } from '../../src/crypto/hash.js'

const ids = (n: number, tag = 'n') =>
  Array.from({ length: n }, (_, i) => hashParts('id', tag, String(i))).sort()
const seedArb = fc.nat().map((k) => hashParts('seed', String(k)))

function connected(nodes: string[], pairs: [string, string][]): boolean {
  const adj = new Map(nodes.map((n) => [n, [] as string[]]))
  for (const [a, b] of pairs) {
    adj.get(a)!.push(b)
    adj.get(b)!.push(a)
  }
  const seen = new Set([nodes[0]!])
  const stack = [nodes[0]!]
  while (stack.length) {
    for (const m of adj.get(stack.pop()!)!) {
      if (!seen.has(m)) {
        seen.add(m)
        stack.push(m)
      }
    }
  }
  return seen.size === nodes.length
}

describe('pair assignment', () => {
  it('is a pure function of its inputs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 40 }), seedArb, (n, seed) => {
        const a = ids(n)
        expect(assignComparisons(a, a, seed)).toEqual(assignComparisons(a, a, seed))
      }),
    )
    const a = ids(20)
    expect(assignComparisons(a, a, hashParts('s', '1')).judgements).not.toEqual(
      assignComparisons(a, a, hashParts('s', '2')).judgements,
    )
  })

  it('covers min(3n, n(n−1)/2) distinct pairs in both orders, connected, never by an owner, each pair by ⌈6/(n−1)⌉ distinct judges below 7 (as many as there are)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 60 }), seedArb, (n, seed) => {
        const a = ids(n)
        const { judgements, unassigned } = assignComparisons(a, a, seed)
        expect(unassigned).toEqual([])
        const pairs = new Map<string, [string, string]>()
        const orders = new Set<string>()
        for (const j of judgements) {
          expect(j.judge).not.toBe(j.a)
          expect(j.judge).not.toBe(j.b)
          expect(j.a).not.toBe(j.b)
          orders.add(`${j.a}>${j.b}`)
          pairs.set([j.a, j.b].sort().join('|'), [j.a, j.b])
        }
        expect(pairs.size).toBe(Math.min(3 * n, (n * (n - 1)) / 2))
        for (const [x, y] of pairs.values())
          expect(orders.has(`${x}>${y}`) && orders.has(`${y}>${x}`)).toBe(true)
        // Judges are the members here, so n − 2 of them own neither answer of a pair.
        const perPair = Math.min(judgesPerUnit(n), n - 2)
        expect(judgements).toHaveLength(2 * pairs.size * perPair)
        expect(new Set(judgements.map((j) => `${j.a}>${j.b}@${j.judge}`)).size).toBe(judgements.length)
        expect(connected(a, [...pairs.values()])).toBe(true)
      }),
    )
  })

  it('spreads the load evenly: judges differ by at most one unit of work, outside judges or members alike', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 60 }), fc.integer({ min: 3, max: 60 }), fc.boolean(), seedArb, (n, m, members, seed) => {
        const answers = ids(n)
        // Members judge too (each owns one answer), plus outside judges up to m in all.
        const judges = members ? [...answers, ...ids(Math.max(0, m - n), 'j')].sort() : ids(m, 'j')
        const { byJudge, judgements } = assignComparisons(answers, judges, seed)
        const loads = judges.map((j) => byJudge.get(j)?.length ?? 0)
        const unit = n >= 7 ? 6 : 2
        // With three answers a pair has only one member able to judge it; outside judges take the rest.
        if (!(members && n === 3)) expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(unit)
        expect(loads.reduce((x, y) => x + y, 0)).toBe(judgements.length)
      }),
      { numRuns: 300 },
    )
  })

  it('gives each pair of a small swarm several judges, so about 3n pairs are judged at any size', () => {
    expect([2, 3, 4, 5, 6, 7, 8].map(judgesPerUnit)).toEqual([6, 3, 2, 2, 2, 1, 1])
    const a = ids(5)
    const { judgements } = assignComparisons(a, a, hashParts('s', 'small'))
    expect(judgements).toHaveLength(2 * 10 * 2)
    // Four spare judges (no answers of their own) let a pair of three answers get all three copies.
    const { judgements: three } = assignComparisons(ids(3), ids(4, 'j'), hashParts('s', 'three'))
    expect(three).toHaveLength(2 * 3 * 3)
  })

  it('gives a judge of a 7+ swarm a triangle: at most three answers to read per unit', () => {
    const a = ids(100)
    const { byJudge } = assignComparisons(a, a, hashParts('s', 'x'))
    for (const js of byJudge.values())
      expect(new Set(js.flatMap((j) => [j.a, j.b])).size).toBeLessThanOrEqual(3 * (js.length / 6))
  })

  it('leaves units unassigned rather than let an owner judge its own answer', () => {
    const a = ids(3)
    const { unassigned, judgements } = assignComparisons(a, [a[0]!], hashParts('s', 'y'))
    expect(judgements.every((j) => j.a !== a[0] && j.b !== a[0])).toBe(true)
    expect(unassigned).toHaveLength(2)
  })
})
