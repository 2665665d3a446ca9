/**
 * Weighted Bradley–Terry: strength s_i = e^θ_i, P(i beats j) = s_i / (s_i + s_j).
 *
 * Each answer also plays a virtual opponent of strength 1 (θ = 0) with `prior/2` won and `prior/2`
 * lost: a weak prior that makes the maximum exist when an answer never lost (or never played) and
 * pins the scale, so scores are comparable across fits. The fit is Newman's fixed-point iteration
 * (JMLR 2023), updated in place in a fixed order, which converges far faster than Zermelo's MM and
 * gives bit-identical results for identical inputs. It stops when the estimated distance to the fixed
 * point in log-strength is within the tolerance (1e-8 by default).
 *
 * Intervals come from the observed information H (the Hessian of the negative log-likelihood in θ):
 * per answer θ_i ± z/√H_ii, the conditional standard error (a lower bound on the marginal one, and
 * exact when the rest is known); no dense inverse is ever formed. Whether the top two are separated
 * uses the exact variance of θ₁ − θ₂, from one conjugate-gradient solve with the sparse H.
 */
export interface PairTally {
  i: number
  j: number
  /** Weight of verdicts for i over j (a tie gives half its weight to each side). */
  wi: number
  wj: number
}

export interface BTOptions {
  prior?: number
  tolerance?: number
  maxIterations?: number
  /** z for intervals and the separation test (1.96 ≈ 95 %). */
  z?: number
}

export interface BTFit {
  theta: Float64Array
  se: Float64Array
  iterations: number
  converged: boolean
}

const DEFAULTS = { prior: 1, tolerance: 1e-8, maxIterations: 10_000, z: 1.96 }

/** Compressed adjacency: for answer i, neighbours nbr[off[i]..off[i+1]) with won / lost weights. */
interface Graph {
  off: Int32Array
  nbr: Int32Array
  won: Float64Array
  lost: Float64Array
}

function buildGraph(n: number, tallies: readonly PairTally[]): Graph {
  const deg = new Int32Array(n + 1)
  for (const t of tallies) {
    checkIndex(t.i, n)
    checkIndex(t.j, n)
    if (t.i === t.j) throw new RangeError('an answer cannot be compared with itself')
    deg[t.i + 1]!++
    deg[t.j + 1]!++
  }
  for (let i = 0; i < n; i++) deg[i + 1]! += deg[i]!
  const off = deg.slice()
  const fill = deg.slice(0, n)
  const m = off[n]!
  const nbr = new Int32Array(m)
  const won = new Float64Array(m)
  const lost = new Float64Array(m)
  for (const t of tallies) {
    let k = fill[t.i]!++
    nbr[k] = t.j
    won[k] = t.wi
    lost[k] = t.wj
    k = fill[t.j]!++
    nbr[k] = t.i
    won[k] = t.wj
    lost[k] = t.wi
  }
  return { off, nbr, won, lost }
}

function checkIndex(i: number, n: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`answer index ${i} outside 0..${n - 1}`)
}

export function fitBradleyTerry(n: number, tallies: readonly PairTally[], options: BTOptions = {}): BTFit {
  const { prior, tolerance, maxIterations } = { ...DEFAULTS, ...options }
  if (!(prior > 0)) throw new RangeError('the prior must be positive')
  for (const t of tallies) if (!(t.wi >= 0 && t.wj >= 0)) throw new RangeError('weights must be non-negative')
  const g = buildGraph(n, tallies)
  const s = new Float64Array(n).fill(1)
  const half = prior / 2
  let iterations = 0
  let converged = n === 0
  let prevDelta = Number.POSITIVE_INFINITY
  while (!converged && iterations < maxIterations) {
    iterations++
    let maxDelta = 0
    for (let i = 0; i < n; i++) {
      const si = s[i]!
      const virt = half / (si + 1)
      let num = virt
      let den = virt
      for (let k = g.off[i]!, end = g.off[i + 1]!; k < end; k++) {
        const sj = s[g.nbr[k]!]!
        const inv = 1 / (si + sj)
        num += g.won[k]! * sj * inv
        den += g.lost[k]! * inv
      }
      const next = num / den
      const delta = Math.abs(Math.log(next / si))
      if (delta > maxDelta) maxDelta = delta
      s[i] = next
    }
    // Comparisons are blind to a common shift of every θ; only the weak prior pins it, so that one
    // direction converges slowly. Solve for it directly: one Newton step on the shift c.
    let grad = 0
    let curv = 0
    for (let i = 0; i < n; i++) {
      const p = s[i]! / (s[i]! + 1)
      grad += half * (1 - 2 * p)
      curv += prior * p * (1 - p)
    }
    const shift = grad / curv
    if (Number.isFinite(shift) && shift !== 0) {
      const f = Math.exp(shift)
      for (let i = 0; i < n; i++) s[i]! *= f
      maxDelta += Math.abs(shift)
    }
    // The iteration contracts linearly; with rate ρ the distance left is about Δ·ρ/(1−ρ). Stopping
    // on that estimate rather than on Δ alone is what makes two fits of the same data agree.
    const rate = Math.min(maxDelta / prevDelta, 0.999)
    converged = maxDelta * Math.max(1, rate / (1 - rate)) <= tolerance
    prevDelta = maxDelta
  }
  const theta = new Float64Array(n)
  const se = new Float64Array(n)
  const diag = information(g, s, prior).diag
  for (let i = 0; i < n; i++) {
    theta[i] = Math.log(s[i]!)
    se[i] = 1 / Math.sqrt(diag[i]!)
  }
  return { theta, se, iterations, converged }
}

/** The observed information: diagonal and, per adjacency entry, the off-diagonal magnitude. */
function information(g: Graph, s: Float64Array, prior: number): { diag: Float64Array; off: Float64Array } {
  const n = s.length
  const diag = new Float64Array(n)
  const off = new Float64Array(g.nbr.length)
  for (let i = 0; i < n; i++) {
    const si = s[i]!
    let d = (prior * si) / ((si + 1) * (si + 1))
    for (let k = g.off[i]!, end = g.off[i + 1]!; k < end; k++) {
      const sj = s[g.nbr[k]!]!
      const c = ((g.won[k]! + g.lost[k]!) * si * sj) / ((si + sj) * (si + sj))
      off[k] = c
      d += c
    }
    diag[i] = d
  }
  return { diag, off }
}

/**
 * Variance of θ_a − θ_b under the fit: (e_a − e_b)ᵀ H⁻¹ (e_a − e_b), by conjugate gradients on the
 * sparse, strictly diagonally dominant (so positive definite) H.
 */
export function differenceVariance(
  n: number,
  tallies: readonly PairTally[],
  theta: Float64Array,
  a: number,
  b: number,
  prior = DEFAULTS.prior,
): number {
  const g = buildGraph(n, tallies)
  const s = theta.map(Math.exp)
  const { diag, off } = information(g, s, prior)
  const mul = (x: Float64Array, out: Float64Array) => {
    for (let i = 0; i < n; i++) {
      let v = diag[i]! * x[i]!
      for (let k = g.off[i]!, end = g.off[i + 1]!; k < end; k++) v -= off[k]! * x[g.nbr[k]!]!
      out[i] = v
    }
  }
  // Jacobi-preconditioned CG: H is diagonally dominant, so diag(H) is a good preconditioner.
  const r = new Float64Array(n)
  r[a] = 1
  r[b] = -1
  const x = new Float64Array(n)
  const z = r.map((v, i) => v / diag[i]!)
  const p = z.slice()
  const q = new Float64Array(n)
  let rz = r[a]! * z[a]! + r[b]! * z[b]!
  const stop = rz * 1e-24
  for (let it = 0; it < 10 * n + 10 && rz > stop; it++) {
    mul(p, q)
    let pq = 0
    for (let i = 0; i < n; i++) pq += p[i]! * q[i]!
    const alpha = rz / pq
    let rz2 = 0
    for (let i = 0; i < n; i++) {
      x[i]! += alpha * p[i]!
      r[i]! -= alpha * q[i]!
      z[i] = r[i]! / diag[i]!
      rz2 += r[i]! * z[i]!
    }
    const beta = rz2 / rz
    for (let i = 0; i < n; i++) p[i] = z[i]! + beta * p[i]!
    rz = rz2
  }
  return x[a]! - x[b]!
}

/** Accumulates weighted verdicts into one tally per unordered pair, in order of first appearance. */
export class TallyBuilder {
  private readonly index = new Map<number, number>()
  private readonly lo: number[] = []
  private readonly hi: number[] = []
  private readonly wLo: number[] = []
  private readonly wHi: number[] = []

  constructor(private readonly n: number) {}

  /** outcome: 1 = i won, -1 = j won, 0 = tie. */
  add(i: number, j: number, outcome: 1 | 0 | -1, weight: number): void {
    if (weight <= 0) return
    const lo = i < j ? i : j
    const hi = i < j ? j : i
    const key = lo * this.n + hi
    let k = this.index.get(key)
    if (k === undefined) {
      k = this.lo.length
      this.index.set(key, k)
      this.lo.push(lo)
      this.hi.push(hi)
      this.wLo.push(0)
      this.wHi.push(0)
    }
    const loWins = outcome === 0 ? 0.5 : (outcome === 1) === (i === lo) ? 1 : 0
    this.wLo[k]! += weight * loWins
    this.wHi[k]! += weight * (1 - loWins)
  }

  tallies(): PairTally[] {
    return this.lo.map((i, k) => ({ i, j: this.hi[k]!, wi: this.wLo[k]!, wj: this.wHi[k]! }))
  }
}
