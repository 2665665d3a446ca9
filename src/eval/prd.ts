import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fitBradleyTerry, TallyBuilder } from '../consensus/bradleyTerry.js'
import { hashParts } from '../crypto/hash.js'
import { identityFromSeed } from '../crypto/identity.js'
import { MAX_ANSWER_CHARS } from '../protocol/limits.js'
import { genesisLedgerView } from '../round/ledgerView.js'
import { type Estimate, bootstrapAccuracy } from './bootstrap.js'
import { CalibrationRecords, isCalibrationItem } from './calibration.js'
import { driveRound } from './roundDriver.js'
import { DataError } from './zeroeval.js'

/**
 * Peer review with real judges and a human ground truth (PRD vicuna80, MIT): five models answered 80
 * open questions and judged every ordered pair of answers; people judged pairs too. The replay runs
 * real rounds in which each node answers with its model's answer and judges with that model's
 * RECORDED verdicts (never its own answer: the assignment rule), and scores each method by how well
 * its ranking agrees with the human majority.
 */
export interface PrdData {
  models: string[]
  questions: { id: number; text: string; answers: { id: string; text: string }[] }[]
  /** `${reviewer}|${firstAnswerId}|${secondAnswerId}` → 1 first better, 2 second better, 3 tie. */
  reviews: Map<string, number>
  /** Human votes per question and ordered model pair: [first wins, second wins, ties]. */
  human: Map<number, Map<string, [number, number, number]>>
}

async function jsonl(path: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(path, 'utf8')
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

export async function loadPrd(dataDir: string): Promise<PrdData> {
  const root = join(dataDir, 'prd-vicuna80')
  let genFiles: string[]
  try {
    genFiles = (await readdir(join(root, 'generations'))).filter((f) => /^answer_.*\.jsonl$/.test(f)).sort()
  } catch {
    throw new DataError(`no PRD data at ${root}`)
  }
  const models = genFiles.map((f) => f.slice('answer_'.length, -'.jsonl'.length))
  const prompts = new Map((await jsonl(join(root, 'prompts', 'vicuna_questions.jsonl'))).map((p) => [Number(p.question_id), String(p.text)]))
  const byQuestion = new Map<number, { id: string; text: string }[]>()
  for (const [m, f] of genFiles.entries()) {
    for (const r of await jsonl(join(root, 'generations', f))) {
      const q = Number(r.question_id)
      const list = byQuestion.get(q) ?? []
      list[m] = { id: String(r.answer_id), text: String(r.text) }
      byQuestion.set(q, list)
    }
  }
  const reviews = new Map<string, number>()
  for (const reviewer of models) {
    const dir = join(root, `ratings-${reviewer}`)
    for (const f of await readdir(dir).catch(() => [] as string[])) {
      for (const r of await jsonl(join(dir, f))) reviews.set(`${reviewer}|${r.answer1_id}|${r.answer2_id}`, Number(r.score))
    }
  }
  const human = new Map<number, Map<string, [number, number, number]>>()
  for (const f of await readdir(join(root, 'ratings-human'))) {
    const m = /^answer_(.+)-vs-answer_(.+)-human-reviewer/.exec(f)
    if (!m || !models.includes(m[1]!) || !models.includes(m[2]!)) continue
    for (const r of await jsonl(join(root, 'ratings-human', f))) {
      const q = Number(r.question_id)
      const perQ = human.get(q) ?? new Map<string, [number, number, number]>()
      const key = `${m[1]}|${m[2]}`
      const v = perQ.get(key) ?? [0, 0, 0]
      const s = Number(r.score)
      if (s === 1 || s === 2 || s === 3) v[s - 1]!++
      perQ.set(key, v)
      human.set(q, perQ)
    }
  }
  const questions = [...byQuestion.entries()]
    .filter(([, a]) => models.every((_, m) => a[m] !== undefined))
    .map(([id, answers]) => ({ id, text: prompts.get(id) ?? '', answers }))
    .sort((a, b) => a.id - b.id)
  return { models, questions, reviews, human }
}

export interface PrdMethodScore {
  method: string
  /** Share of human-decided pairs the method orders the same way. */
  pairwise: Estimate
  /** Share of questions whose top answer is the humans' top answer. */
  top1: Estimate
}

/** Human-decided pairs of a question: [preferred model index, other], ties and splits dropped. */
function humanPairs(data: PrdData, q: number): [number, number][] {
  const out: [number, number][] = []
  const votes = new Map<string, [number, number]>()
  for (const [key, [a, b]] of data.human.get(q) ?? []) {
    const [x, y] = key.split('|') as [string, string]
    // Both file orders describe the same unordered pair: pool them.
    const canon = x < y ? `${x}|${y}` : `${y}|${x}`
    const v = votes.get(canon) ?? [0, 0]
    if (x < y) {
      v[0] += a
      v[1] += b
    } else {
      v[0] += b
      v[1] += a
    }
    votes.set(canon, v)
  }
  for (const [canon, [a, b]] of votes) {
    if (a === b) continue
    const [x, y] = canon.split('|') as [string, string]
    const [i, j] = [data.models.indexOf(x), data.models.indexOf(y)]
    out.push(a > b ? [i, j] : [j, i])
  }
  return out
}

function rankFrom(n: number, verdicts: { i: number; j: number; score: number }[]): number[] {
  const t = new TallyBuilder(n)
  for (const v of verdicts) t.add(v.i, v.j, v.score === 1 ? 1 : v.score === 2 ? -1 : 0, 1)
  const theta = fitBradleyTerry(n, t.tallies()).theta
  return [...theta.keys()].sort((a, b) => theta[b]! - theta[a]! || a - b)
}

export interface PrdReplayOptions {
  /**
   * Learn judge weights online, as the network does: this share of questions are calibration items
   * on which the ledger knows the people's verdicts. After each, every judge's agreement with them
   * (from a Beta(3, 1) prior) sets its log-odds weight for the rounds after. Not scored.
   */
  calibrationShare?: number
  onProgress?: (done: number, total: number) => void
}

export interface PrdReplay {
  scores: PrdMethodScore[]
  /** Questions scored (calibration questions are not). */
  scored: number
  /** With calibration: each model's judge weight after the last round. */
  weights?: { model: string; weight: number }[]
}

export function replayPrd(data: PrdData, opts: PrdReplayOptions = {}): PrdReplay {
  const n = data.models.length
  const ids = data.models.map((m) => identityFromSeed(Buffer.from(hashParts('prd-node', m), 'hex')))
  const index = new Map(ids.map((id, i) => [id.id, i]))
  const share = opts.calibrationShare ?? 0
  const learned = new CalibrationRecords(n)
  const ledger = share > 0 ? genesisLedgerView((id) => learned.weight(index.get(id)!)) : genesisLedgerView()
  const methods = ['swarm', 'BT, all verdicts incl. self-judging', ...data.models.map((m) => `${m} alone`)]
  const pair = new Map(methods.map((m) => [m, [] as boolean[]]))
  const top = new Map(methods.map((m) => [m, [] as boolean[]]))
  const questions = data.questions.filter((q) => humanPairs(data, q.id).length > 0)
  questions.forEach((q, qi) => {
    const answerId = (node: number) => q.answers[node]!.id
    const recorded = (reviewer: number, a: number, b: number) => data.reviews.get(`${data.models[reviewer]}|${answerId(a)}|${answerId(b)}`)
    const nodes = ids.map((identity, i) => ({
      identity,
      answer: q.answers[i]!.text.slice(0, MAX_ANSWER_CHARS),
      judge: (t: { a: string; b: string }) => {
        const s = recorded(i, index.get(t.a)!, index.get(t.b)!)
        return s === 1 ? ('A' as const) : s === 2 ? ('B' as const) : s === 3 ? ('T' as const) : ('U' as const)
      },
    }))
    // Open questions: free-text answers, grouped only when their text is the same.
    const { done } = driveRound(nodes, q.text, ledger, qi, { answer: { type: 'free', marker: 'last' } })
    const truth = humanPairs(data, q.id)
    if (isCalibrationItem(String(q.id), share)) {
      // The ledger knows the people's verdicts here: grade each judge on the pairs they decided.
      const decided = new Map(truth.map(([w, l]) => [`${w}|${l}`, true]))
      for (const [w, l] of truth) decided.set(`${l}|${w}`, false)
      learned.grade(done.transcript, (id) => index.get(id)!, (a, b) => decided.get(`${index.get(a)}|${index.get(b)}`))
      opts.onProgress?.(qi + 1, questions.length)
      return
    }
    const rankings = new Map<string, number[]>()
    rankings.set(
      'swarm',
      done.outcome.scores.map((s) => index.get(s.node)!),
    )
    const all: { i: number; j: number; score: number }[] = []
    for (let r = 0; r < n; r++) {
      const mine: { i: number; j: number; score: number }[] = []
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (i === j) continue
          const s = recorded(r, i, j)
          if (s !== undefined) mine.push({ i, j, score: s })
        }
      }
      all.push(...mine)
      rankings.set(`${data.models[r]} alone`, rankFrom(n, mine))
    }
    rankings.set('BT, all verdicts incl. self-judging', rankFrom(n, all))
    const humanTop = rankFrom(
      n,
      truth.map(([w, l]) => ({ i: w, j: l, score: 1 })),
    )[0]!
    for (const [m, order] of rankings) {
      const pos = new Map(order.map((node, k) => [node, k]))
      for (const [w, l] of truth) pair.get(m)!.push(pos.get(w)! < pos.get(l)!)
      top.get(m)!.push(order[0] === humanTop)
    }
    opts.onProgress?.(qi + 1, questions.length)
  })
  const scores = methods.map((m) => ({ method: m, pairwise: bootstrapAccuracy(pair.get(m)!, 1000, m), top1: bootstrapAccuracy(top.get(m)!, 1000, `${m}-top`) }))
  const scored = top.get('swarm')!.length
  if (share === 0) return { scores, scored }
  return { scores, scored, weights: data.models.map((model, i) => ({ model, weight: ledger.judgeWeight(ids[i]!.id) })) }
}

export interface SelfPreference {
  model: string
  /** Share of its own answer's comparisons (ties half) that this model, as reviewer, gives to itself. */
  bySelf: number
  /** The same comparisons as the other reviewers (never the opponent itself) decide them. */
  byOthers: number
  /**
   * The modelled judge's `selfPreference` that explains the gap: a judge that picks its own side with
   * probability p and otherwise judges like the others gives itself p + (1 − p)·byOthers.
   */
  implied: number
  comparisons: number
}

/**
 * Self-preference measured from the recorded reviews: how much more often a model prefers its own
 * answer than the other models do on the same pairs (both orders). The round's assignment never
 * lets a judge see its own answer; this measures what that rule keeps out, and calibrates the
 * modelled judges' preference for answers that agree with their own.
 */
export function measureSelfPreference(data: PrdData): SelfPreference[] {
  const n = data.models.length
  const win = (s: number | undefined, ownFirst: boolean) => (s === 3 ? 0.5 : s === 1 ? (ownFirst ? 1 : 0) : s === 2 ? (ownFirst ? 0 : 1) : undefined)
  return data.models.map((model, r) => {
    let self = 0
    let selfN = 0
    let others = 0
    let othersN = 0
    for (const q of data.questions) {
      const id = (m: number) => q.answers[m]!.id
      for (let j = 0; j < n; j++) {
        if (j === r) continue
        for (const ownFirst of [true, false]) {
          const [a, b] = ownFirst ? [id(r), id(j)] : [id(j), id(r)]
          const mine = win(data.reviews.get(`${model}|${a}|${b}`), ownFirst)
          if (mine !== undefined) {
            self += mine
            selfN++
          }
          for (let k = 0; k < n; k++) {
            if (k === r || k === j) continue
            const theirs = win(data.reviews.get(`${data.models[k]}|${a}|${b}`), ownFirst)
            if (theirs === undefined) continue
            others += theirs
            othersN++
          }
        }
      }
    }
    const bySelf = self / Math.max(1, selfN)
    const byOthers = others / Math.max(1, othersN)
    const implied = byOthers >= 1 ? 0 : Math.max(0, (bySelf - byOthers) / (1 - byOthers))
    return { model, bySelf, byOthers, implied, comparisons: selfN }
  })
}
