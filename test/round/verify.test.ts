import { SEAL_ENTRY_CHARS } from '../../src/protocol/seal.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalJson } from '../../src/crypto/canonical.js'
import type { Envelope } from '../../src/protocol/envelope.js'
import { signEnvelope } from '../../src/protocol/envelope.js'
import { parseTranscript, transcriptFile } from '../../src/round/transcript.js'
import { TranscriptError, verifyTranscript } from '../../src/round/verify.js'
import { winningGroup } from '../../src/round/outcome.js'
import { replyKey } from '../../src/consensus/answers.js'
import { Harness } from './harness.js'

const h = new Harness({ nodes: 7 })
const good: Envelope[] = h.outcome!.transcript.map((m) => m.env)
const opts = { ledger: h.ledger }
const clone = (): Envelope[] => JSON.parse(JSON.stringify(good))

describe('verifyTranscript', () => {
  it('accepts the transcript a round produced, and its file form', () => {
    const v = verifyTranscript(good, opts)
    expect(v.outcome.winner).toBe(h.outcome!.outcome.winner)
    const file = JSON.stringify(transcriptFile(h.outcome!.transcript))
    expect(verifyTranscript(parseTranscript(file), opts).root).toBe(v.root)
    // The winning group: the winner and every answer that agrees with it, sorted.
    const texts = new Map(good.filter((e) => e.type === 'AnswerReveal').map((e) => [e.from, (e as Envelope<'AnswerReveal'>).body.answer]))
    expect(v.winners).toContain(v.outcome.winner)
    expect(v.winners).toEqual([...v.winners].sort())
    for (const [owner, text] of texts) expect(v.winners.includes(owner)).toBe(replyKey(text) === replyKey(v.outcome.answer))
  })

  it("names as the winning group the answers equivalent to the winner's, never one the prefilter left out", () => {
    const answers = [
      { owner: 'a', text: 'The answer is 42.', commitHash: '1' },
      { owner: 'b', text: 'The answer is 42', commitHash: '2' },
      { owner: 'c', text: 'The answer is 41.', commitHash: '3' },
      { owner: 'd', text: 'The answer is 42.0', commitHash: '4' },
    ]
    const outcome = { ranked: true, winner: 'b', answer: 'The answer is 42', separated: false, scores: [], baselines: { majority: 'a', weightedBt: 'a', unweighted: 'a' }, abstentions: 0, verdictCount: 0, excluded: ['d'] }
    expect(winningGroup(answers, outcome)).toEqual(['a', 'b'])
  })

  it('detects any dropped message', () => {
    fc.assert(
      fc.property(fc.nat(good.length - 1), (i) => {
        const t = clone()
        t.splice(i, 1)
        expect(() => verifyTranscript(t, opts)).toThrow(TranscriptError)
      }),
      { numRuns: good.length * 3 },
    )
  })

  it('detects any two messages swapped', () => {
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.nat(good.length - 1), (i, j) => {
        fc.pre(i !== j)
        const t = clone()
        ;[t[i], t[j]] = [t[j]!, t[i]!]
        expect(() => verifyTranscript(t, opts)).toThrow(TranscriptError)
      }),
      { numRuns: 300 },
    )
  })

  it('detects any altered field, signed or not', () => {
    const paths: string[][] = []
    good.forEach((e, i) => {
      for (const k of Object.keys(e.body)) paths.push([String(i), 'body', k])
      paths.push([String(i), 'seq'], [String(i), 'sig'])
    })
    fc.assert(
      fc.property(fc.constantFrom(...paths), (path) => {
        const t = clone() as unknown as Record<string, Record<string, Record<string, unknown>>>
        const [i, a, b] = path as [string, string, string | undefined]
        const holder = b === undefined ? t[i]! : t[i]![a]!
        const key = b ?? a
        const v = holder[key]
        holder[key] = mutate(v)
        expect(() => verifyTranscript(t as unknown as Envelope[], opts)).toThrow(TranscriptError)
      }),
      { numRuns: 400 },
    )
  })

  it('detects a coordinator that re-signs a Result naming another winner', () => {
    const t = clone()
    const last = t.at(-1)! as Envelope<'Result'>
    const loser = last.body.scores.at(-1)!.node
    t[t.length - 1] = signEnvelope(h.coordId, {
      type: 'Result',
      round: last.round,
      seq: last.seq,
      body: { ...last.body, winner: loser },
    }).env
    expect(() => verifyTranscript(t, opts)).toThrow(/does not follow/)
  })

  it('detects a coordinator that re-signs a seal omitting a member message', () => {
    const t = clone()
    const k = t.findIndex((e) => e.type === 'CommitsSealed')
    const seal = t[k] as Envelope<'CommitsSealed'>
    const body = { ...seal.body, commits: seal.body.commits.slice(SEAL_ENTRY_CHARS) }
    t[k] = signEnvelope(h.coordId, { type: 'CommitsSealed', round: seal.round, seq: seal.seq, body }).env
    expect(() => verifyTranscript(t, opts)).toThrow(/does not list exactly/)
  })

  it('rejects garbage files with a clear error', () => {
    expect(() => parseTranscript('not json')).toThrow(/not JSON/)
    expect(() => parseTranscript('{"format":"x"}')).toThrow(/chorus\/transcript\/v1/)
    expect(() => verifyTranscript([], opts)).toThrow(/starts with the Query/)
    expect(() => verifyTranscript([{ v: 1 }], opts)).toThrow(TranscriptError)
  })
})

function mutate(v: unknown): unknown {
  if (typeof v === 'number') return v + 1
  if (typeof v === 'boolean') return !v
  if (typeof v === 'string')
    return /^[0-9a-f]+$/.test(v) && v.length > 0 ? (v[0] === '0' ? '1' : '0') + v.slice(1) : `${v}!`
  if (Array.isArray(v)) return v.length > 0 ? v.slice(1) : [canonicalJson(1)]
  if (v !== null && typeof v === 'object') {
    const o = { ...(v as Record<string, unknown>) }
    const k = Object.keys(o)[0]!
    o[k] = mutate(o[k])
    return o
  }
  return 'x'
}
