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
 * - with n < 7 there are fewer than 3n pairs, so each pair goes to ⌈6/(n−1)⌉ distinct judges (as
 *   many as can take it): about 3n judged pairs either way, and every answer compared about six
 *   times, as in a triangle swarm. A small swarm thus never rests a pair on one judge's word.
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
  /** Units in assignment order, one entry per judge given it; each is a list of answer owners. */
  units: string[][]
  judgements: Judgement[]
  byJudge: Map<string, Judgement[]>
  /** Units no eligible judge could take (too few judges): their pairs go unjudged. */
  unassigned: string[][]
}

export const TRIANGLE_THRESHOLD = 7

/**
 * @param answers owners of the revealed answers, in canonical (sorted) order
 * @param judges eligible judges, in canonical (sorted) order
 */
export function assignComparisons(
  answers: readonly string[],
  judges: readonly string[],
  seedHex: string,
): Assignment {
  const plan = planUnits(answers, judges, seedHex)
  const judgements: Judgement[] = []
  const byJudge = new Map<string, Judgement[]>()
  const units: string[][] = []
  const unassigned: string[][] = []
  for (let u = 0; u < plan.units.length; u++) {
    const unit = plan.units[u]!.map((i) => answers[i]!)
    const j = plan.judgeOf[u]!
    if (j < 0) {
      // A repeat no further judge can take costs nothing; a first copy left over leaves pairs unjudged.
      if (u < plan.distinct) unassigned.push(unit)
      continue
    }
    const judge = judges[j]!
    const js = unitJudgements(unit, judge)
    judgements.push(...js)
    let list = byJudge.get(judge)
    if (list === undefined) byJudge.set(judge, (list = []))
    list.push(...js)
    units.push(unit)
  }
  return { units, judgements, byJudge, unassigned }
}

/**
 * One judge's part of `assignComparisons(answers, judges, seedHex)`, in the same order, without
 * building anyone else's: every member of a round derives its own tasks this way.
 */
export function judgementsFor(
  answers: readonly string[],
  judges: readonly string[],
  seedHex: string,
  judge: string,
): Judgement[] {
  const plan = planUnits(answers, judges, seedHex)
  const me = judges.indexOf(judge)
  const out: Judgement[] = []
  if (me < 0) return out
  for (let u = 0; u < plan.units.length; u++) {
    if (plan.judgeOf[u] === me) out.push(...unitJudgements(plan.units[u]!.map((i) => answers[i]!), judge))
  }
  return out
}

interface UnitPlan {
  /** Comparison units in assignment order, as indices into the answers. */
  units: number[][]
  /** The judge (index into the judges) given each unit, or -1 if none could take it. */
  judgeOf: Int32Array
  /** The first `distinct` units are distinct; the rest repeat them for more judges. */
  distinct: number
}

/**
 * The assignment on indices: every party runs this for every round, so it works on small integers
 * (a judge's answer is found by index, and the heap orders one number) rather than on 64-character
 * ids.
 */
function planUnits(answers: readonly string[], judges: readonly string[], seedHex: string): UnitPlan {
  const rng = new SeededRandom(seedHex)
  const distinct = comparisonUnits(answers.length, rng)
  const rank = rng.shuffled(iota(judges.length))
  const owned = ownedAnswers(answers, judges)
  // Every copy of every unit, then the second copy of each, and so on: the load stays even.
  const copies = judgesPerUnit(answers.length)
  const units: number[][] = []
  for (let c = 0; c < copies; c++) units.push(...distinct)
  const d = distinct.length
  // Least-loaded first, ties by seeded rank: as load only grows, key = load · m + rank orders both.
  const m = judges.length
  const heap = new MinHeap(m)
  for (let r = 0; r < m; r++) heap.push(rank[r]!, r)
  const judgeOf = new Int32Array(units.length).fill(-1)
  const popped = new Int32Array(MAX_UNIT + MAX_COPIES + 1)
  const poppedKeys = new Float64Array(popped.length)
  for (let u = 0; u < units.length; u++) {
    const unit = units[u]!
    // A judge owns at most one answer and the earlier copies of this unit hold at most u / d judges,
    // so that many pops plus one find an eligible judge if any exists.
    const limit = unit.length + Math.floor(u / d)
    let pops = 0
    while (judgeOf[u]! < 0 && heap.size > 0 && pops <= limit) {
      const key = heap.minKey()
      const j = heap.pop()
      const free = !unit.includes(owned[j]!) && !holdsCopy(judgeOf, d, u, j)
      if (free) judgeOf[u] = j
      popped[pops] = j
      poppedKeys[pops++] = free ? key + unit.length * (unit.length - 1) * m : key
    }
    for (let p = 0; p < pops; p++) heap.push(popped[p]!, poppedKeys[p]!)
  }
  rebalance(units, judgeOf, d, owned, rank)
  return { units, judgeOf, distinct: d }
}

/**
 * The greedy pass can end uneven when the last units have few eligible judges (every judge owns an
 * answer, and a repeat may not go to a judge holding the unit already): one judge may get two units
 * more than another, and the slowest judge sets the judging phase's length. Then a chain of moves
 * evens it out: the busiest judge hands a unit to a judge that may take it, which hands one on, and
 * so on to a judge with at least two fewer units (a shortest such chain, found breadth-first in
 * seeded judge order). Each chain lowers the sum of squared loads, so this ends.
 */
function rebalance(units: readonly number[][], judgeOf: Int32Array, d: number, owned: Int32Array, rank: readonly number[]): void {
  const m = owned.length
  const load = new Int32Array(m)
  for (const j of judgeOf) if (j >= 0) load[j]!++
  const byRank = new Int32Array(m)
  for (let j = 0; j < m; j++) byRank[rank[j]!] = j
  const mayTake = (j: number, u: number) => !units[u]!.includes(owned[j]!) && !holdsCopy(judgeOf, d, u, j)
  const via = new Int32Array(m)
  const parent = new Int32Array(m)
  for (let rounds = 0; rounds < units.length * m; rounds++) {
    let hi = byRank[0]!
    let lo = hi
    for (let r = 1; r < m; r++) {
      const j = byRank[r]!
      if (load[j]! > load[hi]!) hi = j
      if (load[j]! < load[lo]!) lo = j
    }
    if (load[hi]! - load[lo]! <= 1) return
    // Breadth-first from the busiest judge: via[k] is the unit k would receive, parent[k] its giver.
    via.fill(-1)
    parent.fill(-1)
    parent[hi] = hi
    const queue = [hi]
    let end = -1
    for (let q = 0; q < queue.length && end < 0; q++) {
      const giver = queue[q]!
      for (let u = 0; u < judgeOf.length && end < 0; u++) {
        if (judgeOf[u] !== giver) continue
        for (let r = 0; r < m; r++) {
          const k = byRank[r]!
          if (parent[k] !== -1 || !mayTake(k, u)) continue
          parent[k] = giver
          via[k] = u
          if (load[k]! + 2 <= load[hi]!) {
            end = k
            break
          }
          queue.push(k)
        }
      }
    }
    // No chain from the busiest judge: the spread is as small as eligibility allows.
    if (end < 0) return
    // Apply from the receiving end, so each giver still holds the unit it hands on.
    for (let k = end; k !== hi; k = parent[k]!) judgeOf[via[k]!] = k
    load[hi]!--
    load[end]!++
  }
}

const MAX_UNIT = 3
const MAX_COPIES = 6

/** How many distinct judges each unit gets: one triangle each for n ≥ 7, ⌈6/(n−1)⌉ per pair below. */
export function judgesPerUnit(n: number): number {
  return n >= TRIANGLE_THRESHOLD || n < 2 ? 1 : Math.min(MAX_COPIES, Math.ceil(6 / (n - 1)))
}

/** Does judge j hold some copy of unit u (the units u mod d, u mod d + d, …)? */
function holdsCopy(judgeOf: Int32Array, d: number, u: number, j: number): boolean {
  for (let v = u % d; v < judgeOf.length; v += d) if (judgeOf[v] === j) return true
  return false
}

/**
 * For each judge, the index of the answer it owns, or -1: a merge of the two sorted lists (cheaper
 * than hashing a hundred fresh 64-character ids into a Map).
 */
function ownedAnswers(answers: readonly string[], judges: readonly string[]): Int32Array {
  assertAscending(answers, 'answers')
  assertAscending(judges, 'judges')
  const owned = new Int32Array(judges.length).fill(-1)
  for (let i = 0, j = 0; i < answers.length && j < judges.length; ) {
    if (answers[i]! < judges[j]!) i++
    else if (answers[i]! > judges[j]!) j++
    else owned[j++] = i++
  }
  return owned
}

function assertAscending(ids: readonly string[], what: string): void {
  for (let i = 1; i < ids.length; i++)
    if (!(ids[i - 1]! < ids[i]!)) throw new RangeError(`${what} must be in canonical order: sorted, each once`)
}

/** Units over answer indices 0..n−1: the ring's triangles (n ≥ 7) or every pair, in seeded order. */
function comparisonUnits(n: number, rng: SeededRandom): number[][] {
  if (n < 2) return []
  const ring = rng.shuffled(iota(n))
  const units: number[][] = []
  if (n >= TRIANGLE_THRESHOLD) {
    for (let i = 0; i < n; i++) units.push([ring[i]!, ring[(i + 1) % n]!, ring[(i + 3) % n]!])
  } else {
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) units.push([ring[i]!, ring[j]!])
  }
  return rng.shuffled(units)
}

/** [0, 1, …, n − 1] */
function iota(n: number): number[] {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push(i)
  return out
}

/** Both orders of every pair in the unit, for one judge. */
function unitJudgements(unit: readonly string[], judge: string): Judgement[] {
  const out: Judgement[] = []
  for (let x = 0; x < unit.length; x++) {
    for (let y = x + 1; y < unit.length; y++) {
      out.push({ a: unit[x]!, b: unit[y]!, judge }, { a: unit[y]!, b: unit[x]!, judge })
    }
  }
  return out
}

/** Binary min-heap of small integers by a numeric key. */
class MinHeap {
  private readonly ids: Int32Array
  private readonly keys: Float64Array
  size = 0

  constructor(capacity: number) {
    this.ids = new Int32Array(capacity)
    this.keys = new Float64Array(capacity)
  }

  minKey(): number {
    return this.keys[0]!
  }

  push(id: number, key: number): void {
    let i = this.size++
    while (i > 0) {
      const p = (i - 1) >> 1
      if (this.keys[p]! <= key) break
      this.ids[i] = this.ids[p]!
      this.keys[i] = this.keys[p]!
      i = p
    }
    this.ids[i] = id
    this.keys[i] = key
  }

  pop(): number {
    const top = this.ids[0]!
    const n = --this.size
    if (n > 0) {
      const id = this.ids[n]!
      const key = this.keys[n]!
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const c = l + 1 < n && this.keys[l + 1]! < this.keys[l]! ? l + 1 : l
        if (this.keys[c]! >= key) break
        this.ids[i] = this.ids[c]!
        this.keys[i] = this.keys[c]!
        i = c
      }
      this.ids[i] = id
      this.keys[i] = key
    }
    return top
  }
}
