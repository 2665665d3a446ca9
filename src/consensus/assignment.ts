import { SeededRandom } from './prng.js'

/**
 * Who compares what. From a seed every party derives the same plan:
 *
 * - the answers are shuffled onto a ring; with n ≥ 7 the comparison units are the n triangles
 *   {i, i+1, i+3} on that ring, which cover each edge of the circulant graph C_n(1,2,3) exactly once:
 *   3n distinct pairs, connected (the ring is a Hamiltonian cycle), each answer in three triangles.
 *   With 2 ≤ n < 7 every pair is its own unit (n(n−1)/2 ≤ 3n pairs). Either way min(3n, n(n−1)/2).
 * - each unit goes whole to one judge who owns none of its answers, least-loaded first (ties by a
 *   seeded rank), and that judge compares every pair of the unit in both orders.
 *
 * Giving a judge a triangle rather than six scattered pairs means it reads (and verifies the
 * signatures of) three answers instead of up to twelve, and judging both orders itself cancels its
 * own position bias on every pair it sees.
 */
export interface Judgement {
  /** Owner of the answer shown first, and of the one shown second. */
  a: string
  b: string
  judge: string
}

export interface Assignment {
  /** Units in assignment order; each is a list of answer owners. */
  units: string[][]
  judgements: Judgement[]
  byJudge: Map<string, Judgement[]>
  /** Units no eligible judge could take (too few judges): their pairs go unjudged. */
  unassigned: string[][]
}

export const TRIANGLE_THRESHOLD = 7

export function comparisonUnits(answers: readonly string[], rng: SeededRandom): string[][] {
  const n = answers.length
  if (n < 2) return []
  const ring = rng.shuffled(answers)
  const units: string[][] = []
  if (n >= TRIANGLE_THRESHOLD) {
    for (let i = 0; i < n; i++) units.push([ring[i]!, ring[(i + 1) % n]!, ring[(i + 3) % n]!])
  } else {
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) units.push([ring[i]!, ring[j]!])
  }
  return rng.shuffled(units)
}

function unitJudgements(unit: readonly string[], judge: string): Judgement[] {
  const out: Judgement[] = []
  for (let x = 0; x < unit.length; x++) {
    for (let y = x + 1; y < unit.length; y++) {
      out.push({ a: unit[x]!, b: unit[y]!, judge }, { a: unit[y]!, b: unit[x]!, judge })
    }
  }
  return out
}

/**
 * @param answers owners of the revealed answers, in canonical (sorted) order
 * @param judges eligible judges, in canonical (sorted) order
 */
export function assignComparisons(
  answers: readonly string[],
  judges: readonly string[],
  seedHex: string,
): Assignment {
  const rng = new SeededRandom(seedHex)
  const units = comparisonUnits(answers, rng)
  const rank = new Map(rng.shuffled(judges).map((j, r) => [j, r]))
  const heap = new JudgeHeap(judges.map((id) => ({ id, load: 0, rank: rank.get(id)! })))
  const judgements: Judgement[] = []
  const byJudge = new Map<string, Judgement[]>()
  const assigned: string[][] = []
  const unassigned: string[][] = []
  const popped: JudgeSlot[] = []
  for (const unit of units) {
    let chosen: JudgeSlot | undefined
    // A judge owns at most one answer, so at most |unit| + 1 pops find an eligible one if any exists.
    while (chosen === undefined && heap.size > 0 && popped.length <= unit.length) {
      const slot = heap.pop()
      popped.push(slot)
      if (!unit.includes(slot.id)) chosen = slot
    }
    if (chosen === undefined) {
      unassigned.push(unit)
    } else {
      const js = unitJudgements(unit, chosen.id)
      chosen.load += js.length
      judgements.push(...js)
      let list = byJudge.get(chosen.id)
      if (list === undefined) byJudge.set(chosen.id, (list = []))
      list.push(...js)
      assigned.push(unit)
    }
    for (const slot of popped) heap.push(slot)
    popped.length = 0
  }
  return { units: assigned, judgements, byJudge, unassigned }
}

interface JudgeSlot {
  id: string
  load: number
  rank: number
}

/** Binary min-heap on (load, rank). */
class JudgeHeap {
  private readonly items: JudgeSlot[] = []

  constructor(slots: JudgeSlot[]) {
    for (const s of slots) this.push(s)
  }

  get size(): number {
    return this.items.length
  }

  private less(x: JudgeSlot, y: JudgeSlot): boolean {
    return x.load < y.load || (x.load === y.load && x.rank < y.rank)
  }

  push(slot: JudgeSlot): void {
    const it = this.items
    it.push(slot)
    let i = it.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.less(it[i]!, it[p]!)) break
      ;[it[i], it[p]] = [it[p]!, it[i]!]
      i = p
    }
  }

  pop(): JudgeSlot {
    const it = this.items
    const top = it[0]!
    const last = it.pop()!
    if (it.length > 0) {
      it[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < it.length && this.less(it[l]!, it[m]!)) m = l
        if (r < it.length && this.less(it[r]!, it[m]!)) m = r
        if (m === i) break
        ;[it[i], it[m]] = [it[m]!, it[i]!]
        i = m
      }
    }
    return top
  }
}
