import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { concentration } from '../../../src/gateway/dashboard/concentration.js'
import { latencyStats, percentile } from '../../../src/gateway/dashboard/latencyStats.js'
import { LiveRounds } from '../../../src/gateway/dashboard/liveRounds.js'
import { markdownBlocks } from '../../../src/gateway/dashboard/markdownBlocks.js'
import { nodeHealth } from '../../../src/gateway/dashboard/nodeHealth.js'
import { roundView } from '../../../src/gateway/dashboard/roundView.js'
import type { Envelope } from '../../../src/protocol/envelope.js'
import { SCORE_SCALE } from '../../../src/protocol/limits.js'
import type { ResultBody } from '../../../src/protocol/messages.js'
import { CURRENT_RULES } from '../../../src/protocol/rulesVersions.js'
import { parseTranscript } from '../../../src/round/transcript.js'
import { Harness } from '../../round/harness.js'

const golden = (name: string) => parseTranscript(readFileSync(join(import.meta.dirname, '../../golden', name), 'utf8')) as Envelope[]

describe('the round page reads the signed transcript alone', () => {
  const envelopes = golden('rules-v3-7-nodes.json')
  const v = roundView(envelopes)
  const result = envelopes.at(-1)!.body as ResultBody

  it('shows the Result’s winner, root and scores, best first', () => {
    expect(v.winner).toBe(result.winner)
    expect(v.transcript_root).toBe(result.root)
    expect(v.answers.map((a) => a.node)).toEqual(result.scores.map((s) => s.node))
    for (const [i, s] of result.scores.entries()) {
      expect(v.answers[i]!.score).toBe(s.score / SCORE_SCALE)
      expect(v.answers[i]!.lo).toBe(s.lo / SCORE_SCALE)
      expect(v.answers[i]!.hi).toBe(s.hi / SCORE_SCALE)
    }
  })

  it('lists every verdict and each compared pair once, with its wins both ways', () => {
    const sealed = envelopes.filter((e) => e.type === 'VerdictReveal').flatMap((e) => (e as Envelope<'VerdictReveal'>).body.verdicts)
    expect(v.verdicts).toHaveLength(sealed.length)
    const keys = new Set(sealed.map((x) => [x.a, x.b].sort().join(':')))
    expect(v.pairs).toHaveLength(keys.size)
    const judged = v.pairs.reduce((n, p) => n + p.a_wins + p.b_wins + p.ties + p.abstained, 0)
    expect(judged).toBe(sealed.length)
    for (const p of v.pairs) expect(p.a < p.b).toBe(true)
  })

  it('times each phase from the coordinator’s seals, relative to the Query', () => {
    const at = (t: string) => (envelopes.find((e) => e.type === t)!.body as { at: number }).at
    const issued = (envelopes[0]!.body as { issuedAt: number }).issuedAt
    expect(v.phases_ms.join).toBe(at('Members') - issued)
    expect(v.phases_ms.total).toBe(at('Result') - issued)
    expect(v.question).toBe('What is 6 × 7?')
    expect(v.joined).toHaveLength(7)
  })

  it('shows a transcript that never reached its Result as unranked, not as a crash', () => {
    const cut = roundView(envelopes.slice(0, 20))
    expect(cut.ranked).toBe(false)
    expect(cut.transcript_root).toBe('')
    expect(cut.phases_ms.total).toBeNull()
    expect(() => roundView([])).toThrow(/starts with its Query/)
  })
})

describe('equivalent answers on the round page', () => {
  it('name the best-ranked of them as their group, and carry the group’s support', () => {
    const texts = ['42', 'The answer is 41.', '42', '40', '42']
    const h = new Harness({ nodes: 5, rules: CURRENT_RULES, answer: (_n, i) => texts[i], verdict: () => 'A' })
    h.runDeadlines()
    const v = roundView(h.outcome!.transcript.map((m) => m.env))
    expect(v.answers.map((a) => a.node)).toEqual(h.outcome!.outcome.scores.map((s) => s.node))
    const fortyTwo = v.answers.filter((a) => a.text === '42')
    expect(fortyTwo).toHaveLength(3)
    const group = fortyTwo[0]!.node
    expect(fortyTwo.every((a) => a.group === group && a.support === 3)).toBe(true)
    for (const a of v.answers.filter((a) => a.text !== '42')) expect(a.group).toBe(a.node)
  })
})

describe('judge-weight concentration', () => {
  it('is 0 for equal weights and near 1 when one judge holds everything', () => {
    expect(concentration([1, 1, 1, 1])).toMatchObject({ largest_share: 0.25, gini: 0 })
    const one = concentration([0, 0, 0, 0, 0, 0, 0, 0, 0, 5])
    expect(one.largest_share).toBe(1)
    expect(one.gini).toBeCloseTo(0.9, 10)
    expect(concentration([]).gini).toBeNull()
    expect(concentration([0, 0]).largest_share).toBeNull()
  })

  it('stays in [0, 1) and does not depend on order', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: 1, maxLength: 50 }), (ws) => {
        const c = concentration(ws)
        if (c.gini === null) return
        expect(c.gini).toBeGreaterThanOrEqual(-1e-12)
        expect(c.gini).toBeLessThan(1)
        expect(concentration([...ws].reverse()).gini).toBeCloseTo(c.gini, 12)
      }),
    )
  })
})

describe('latency and throughput', () => {
  it('reports nearest-rank percentiles per phase and rounds per minute', () => {
    expect(percentile([], 0.5)).toBeNull()
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2)
    expect(percentile([1, 2, 3, 4], 0.95)).toBe(4)
    const rounds = Array.from({ length: 21 }, (_, i) => ({ finishedAt: i * 3000, phases: { join: i, total: 100 + i, judge: i % 2 === 0 ? null : i } }))
    const s = latencyStats(rounds)
    expect(s.per_phase.join).toEqual({ p50: 10, p95: 19, n: 21 })
    expect(s.per_phase.judge.n).toBe(10)
    expect(s.per_phase.answer).toEqual({ p50: null, p95: null, n: 0 })
    expect(s.rounds_per_minute).toBeCloseTo(20, 10)
    expect(latencyStats(rounds.slice(0, 1)).rounds_per_minute).toBeNull()
  })
})

describe('live rounds', () => {
  it('records each phase once, learns the round id, and forgets the round when its request ends', () => {
    const live = new LiveRounds()
    const r = live.open('what?', 1000)
    r.phase('joining', 1001)
    r.phase('joining', 1002)
    r.phase('committing', 1010, 'ab'.repeat(32))
    expect(live.list()[0]).toMatchObject({ round: 'ab'.repeat(32), phase: 'committing', phases: [{ phase: 'queued' }, { phase: 'joining', at: 1001 }, { phase: 'committing', at: 1010 }] })
    r.close()
    expect(live.size).toBe(0)
  })

  it('shows a client only its own live rounds; the operator sees all', () => {
    const live = new LiveRounds()
    live.open('alice asks', 1, 'alice')
    live.open('bob asks', 2, 'bob')
    live.open('the operator asks', 3)
    expect(live.list('alice').map((r) => r.question)).toEqual(['alice asks'])
    expect(live.list('carol')).toEqual([])
    expect(live.list()).toHaveLength(3)
  })
})

describe('node health', () => {
  const base = { id: 'n' }
  it('is unreachable when its report is stale, joining when the ledger does not let it serve', () => {
    expect(nodeHealth(base, 0, false)).toBe('online')
    expect(nodeHealth({ ...base, lastSeen: 0 }, 31_000, false)).toBe('unreachable')
    expect(nodeHealth({ ...base, lastSeen: 0 }, 1_000, true)).toBe('joining')
    const standing = { eligible: true, stake: '1', balance: '0', operator: 'o', operatorBalance: '0', answerReputationPpm: 0, judgeWeight: 1, rounds: 0, calibrated: true, calibrationRight: 17, calibrationTotal: 20 }
    expect(nodeHealth({ ...base, lastSeen: 0, ledger: standing }, 1_000, true)).toBe('online')
    expect(nodeHealth({ ...base, ledger: { ...standing, eligible: false } }, 0, true)).toBe('joining')
  })
})

describe('eval reports as blocks', () => {
  it('reads headings, tables, lists and paragraphs, and keeps markup as text', () => {
    const md = [
      '### gsm, **swarm** vs majority',
      '',
      '| method | q = 0.6 |',
      '|---|---|',
      '| swarm | 86.1 [84.0, 88.0] |',
      '| majority | 85.7 [83.6, 87.7] |',
      '',
      'Accuracy in % with `95 %` intervals',
      'over 1319 questions. <img src=x onerror=alert(1)>',
      '- one',
      '- two',
      '```',
      '<script>alert(1)</script>',
      '```',
    ].join('\n')
    expect(markdownBlocks(md)).toEqual([
      { kind: 'heading', level: 3, text: 'gsm, swarm vs majority' },
      { kind: 'table', header: ['method', 'q = 0.6'], rows: [['swarm', '86.1 [84.0, 88.0]'], ['majority', '85.7 [83.6, 87.7]']] },
      { kind: 'paragraph', text: 'Accuracy in % with 95 % intervals over 1319 questions. <img src=x onerror=alert(1)>' },
      { kind: 'list', items: ['one', 'two'] },
      { kind: 'code', text: '<script>alert(1)</script>' },
    ])
  })

  it('never loops or throws on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => void markdownBlocks(text)))
    fc.assert(fc.property(fc.array(fc.constantFrom('|', '-', '#', '`', ' ', '\n', 'a', '*'), { maxLength: 200 }), (cs) => void markdownBlocks(cs.join(''))))
  })
})
