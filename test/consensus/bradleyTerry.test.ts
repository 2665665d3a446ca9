import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  differenceVariance,
  fitBradleyTerry,
  type PairTally,
  TallyBuilder,
} from '../../src/consensus/bradleyTerry.js'

/** Random tallies over n answers: each pair present with some weight either way. */
const talliesArb = fc.integer({ min: 2, max: 9 }).chain((n) =>
  fc
    .array(
      fc.record({
        i: fc.nat(n - 1),
        j: fc.nat(n - 1),
        wi: fc.double({ min: 0, max: 5, noNaN: true }),
        wj: fc.double({ min: 0, max: 5, noNaN: true }),
      }),
      { minLength: 1, maxLength: 30 },
    )
    .map((ts) => ({ n, tallies: merge(ts.filter((t) => t.i !== t.j)) })),
)

function merge(ts: PairTally[]): PairTally[] {
  const m = new Map<string, PairTally>()
  for (const t of ts) {
    const [i, j, wi, wj] = t.i < t.j ? [t.i, t.j, t.wi, t.wj] : [t.j, t.i, t.wj, t.wi]
    const k = `${i},${j}`
    const e = m.get(k) ?? { i, j, wi: 0, wj: 0 }
    e.wi += wi
    e.wj += wj
    m.set(k, e)
  }
  return [...m.values()]
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!))
  return d
}

describe('weighted Bradley–Terry', () => {
  it('converges, and at the fit the score equations hold (gradient ≈ 0)', () => {
    fc.assert(
      fc.property(talliesArb, ({ n, tallies }) => {
        const fit = fitBradleyTerry(n, tallies)
        expect(fit.converged).toBe(true)
        const s = Array.from(fit.theta, Math.exp)
        const grad: number[] = s.map((si) => 0.5 - si / (si + 1))
        for (const t of tallies) {
          const p = s[t.i]! / (s[t.i]! + s[t.j]!)
          grad[t.i]! += t.wi - (t.wi + t.wj) * p
          grad[t.j]! += t.wj - (t.wi + t.wj) * (1 - p)
        }
        for (const g of grad) expect(Math.abs(g)).toBeLessThan(1e-6)
      }),
    )
  })

  it('is scale invariant: scaling every weight and the prior by c changes nothing', () => {
    fc.assert(
      fc.property(talliesArb, fc.double({ min: 0.01, max: 100, noNaN: true }), ({ n, tallies }, c) => {
        const a = fitBradleyTerry(n, tallies, { prior: 1 })
        const b = fitBradleyTerry(
          n,
          tallies.map((t) => ({ ...t, wi: t.wi * c, wj: t.wj * c })),
          { prior: c },
        )
        expect(maxDiff(a.theta, b.theta)).toBeLessThan(1e-6)
      }),
    )
  })

  it('ranks first an answer that beat every other answer (each win outweighing the prior)', () => {
    fc.assert(
      fc.property(talliesArb, fc.double({ min: 1, max: 3, noNaN: true }), ({ n, tallies }, w) => {
        // Answer 0 meets everyone and never loses; the other pairs are arbitrary.
        const rest = tallies.filter((t) => t.i !== 0 && t.j !== 0)
        const all = [...rest, ...Array.from({ length: n - 1 }, (_, k) => ({ i: 0, j: k + 1, wi: w, wj: 0 }))]
        const fit = fitBradleyTerry(n, all)
        for (let k = 1; k < n; k++) expect(fit.theta[0]!).toBeGreaterThan(fit.theta[k]!)
      }),
    )
  })

  it('treats ties symmetrically and is equivariant under relabelling', () => {
    const ties = fitBradleyTerry(3, [
      { i: 0, j: 1, wi: 2, wj: 2 },
      { i: 1, j: 2, wi: 1, wj: 1 },
    ])
    expect(maxDiff(ties.theta, [0, 0, 0])).toBeLessThan(1e-9)
    fc.assert(
      fc.property(talliesArb, ({ n, tallies }) => {
        const a = fitBradleyTerry(n, tallies)
        const flip = (i: number) => n - 1 - i
        const b = fitBradleyTerry(
          n,
          tallies.map((t) => ({ i: flip(t.i), j: flip(t.j), wi: t.wi, wj: t.wj })),
        )
        for (let i = 0; i < n; i++) expect(Math.abs(a.theta[i]! - b.theta[flip(i)]!)).toBeLessThan(1e-7)
      }),
    )
  })

  it('lets weights matter: more weight on a win raises the winner', () => {
    const base = [
      { i: 0, j: 1, wi: 1, wj: 1 },
      { i: 1, j: 2, wi: 1, wj: 1 },
    ]
    const a = fitBradleyTerry(3, base)
    const b = fitBradleyTerry(3, [{ i: 0, j: 1, wi: 3, wj: 1 }, base[1]!])
    expect(b.theta[0]!).toBeGreaterThan(a.theta[0]! + 0.1)
    expect(b.theta[1]!).toBeLessThan(a.theta[1]!)
  })

  it('gives the same scores to 1e-9 whatever the order of the verdicts', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.nat(7),
            fc.nat(7),
            fc.constantFrom(1, 0, -1),
            fc.double({ min: 0.1, max: 2, noNaN: true }),
          ),
          { minLength: 5, maxLength: 60 },
        ),
        fc.nat(),
        (raw, seed) => {
          const vs = raw.filter(([i, j]) => i !== j)
          const fitOf = (list: typeof vs) => {
            const tb = new TallyBuilder(8)
            for (const [i, j, o, w] of list) tb.add(i, j, o as 1 | 0 | -1, w)
            return fitBradleyTerry(8, tb.tallies())
          }
          const shuffled = vs
            .map((v, k) => [v, (k * 2654435761 + seed) % 1000003] as const)
            .sort((x, y) => x[1] - y[1])
            .map((x) => x[0])
          expect(maxDiff(fitOf(vs).theta, fitOf(shuffled).theta)).toBeLessThan(1e-9)
        },
      ),
    )
  })

  it('separates a clear winner only when the evidence is strong', () => {
    const tallies = (k: number) => [
      { i: 0, j: 1, wi: 9 * k, wj: k },
      { i: 0, j: 2, wi: 9 * k, wj: k },
      { i: 1, j: 2, wi: 5 * k, wj: 5 * k },
    ]
    for (const [k, expected] of [
      [0.2, false],
      [10, true],
    ] as const) {
      const t = tallies(k)
      const fit = fitBradleyTerry(3, t)
      const v = differenceVariance(3, t, fit.theta, 0, 1)
      expect(v).toBeGreaterThan(0)
      expect(fit.theta[0]! - fit.theta[1]! > 1.96 * Math.sqrt(v)).toBe(expected)
      // Intervals shrink with evidence.
      expect(fit.se[0]!).toBeGreaterThan(0)
    }
    expect(fitBradleyTerry(3, tallies(10)).se[0]!).toBeLessThan(fitBradleyTerry(3, tallies(0.2)).se[0]!)
  })

  it('refuses malformed input', () => {
    expect(() => fitBradleyTerry(2, [{ i: 0, j: 0, wi: 1, wj: 0 }])).toThrow(RangeError)
    expect(() => fitBradleyTerry(2, [{ i: 0, j: 5, wi: 1, wj: 0 }])).toThrow(RangeError)
    expect(() => fitBradleyTerry(2, [{ i: 0, j: 1, wi: -1, wj: 0 }])).toThrow(RangeError)
    expect(fitBradleyTerry(0, []).theta).toHaveLength(0)
  })
})
