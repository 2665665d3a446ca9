import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { roundView } from '../../src/gateway/dashboard/roundView.js'
import { excludedByMarks, type MarkedVerdict } from '../../src/consensus/prefilter.js'
import type { Envelope } from '../../src/protocol/envelope.js'
import { settle, DEFAULT_SETTLEMENT_RULES } from '../../src/ledger/settlement.js'
import { newReputation, updateReputation } from '../../src/ledger/reputation.js'
import { CURRENT_RULES, RULES_VERSIONS } from '../../src/protocol/rulesVersions.js'
import type { BeaconPhase, IssuedBeacon } from '../../src/round/beacons.js'
import { genesisLedgerView } from '../../src/round/ledgerView.js'
import { parseTranscript } from '../../src/round/transcript.js'
import { verifyOpened, verifyTranscript } from '../../src/round/verify.js'
import { Harness, ident } from '../round/harness.js'

/**
 * The GOOD/BAD prefilter of rules 4: which answers the judges' marks leave out, that a left-out
 * answer is not ranked and forfeits its ticket, and that nobody short of a majority of the judge
 * weight that saw an answer can throw it out.
 */
const pair = (judge: string, a: string, b: string, g?: number): MarkedVerdict => ({ judge, a, b, ...(g === undefined ? {} : { g }) })
const one = () => 1

describe('excludedByMarks', () => {
  it('leaves out an answer marked by most of the weight that saw it, from two judges up', () => {
    const v = [pair('j1', 'x', 'y', 1), pair('j2', 'x', 'z', 1), pair('j3', 'y', 'x', 2), pair('j3', 'y', 'z')]
    expect(excludedByMarks(['x', 'y', 'z'], v, one, 1)).toEqual(['x'])
    // Two of three marking is enough; one of three is not.
    expect(excludedByMarks(['x', 'y', 'z'], [pair('j1', 'x', 'y', 1), pair('j2', 'x', 'z', 1), pair('j3', 'y', 'x')], one, 1)).toEqual(['x'])
    expect(excludedByMarks(['x', 'y', 'z'], [pair('j1', 'x', 'y', 1), pair('j2', 'x', 'z'), pair('j3', 'y', 'x')], one, 1)).toEqual([])
    // Half is not most.
    expect(excludedByMarks(['x', 'y', 'z'], [pair('j1', 'x', 'y', 1), pair('j2', 'x', 'z')], one, 1)).toEqual([])
  })

  it('needs two judges: one judge alone, however sure, leaves nothing out', () => {
    expect(excludedByMarks(['x', 'y', 'z'], [pair('j1', 'x', 'y', 1), pair('j1', 'x', 'z', 1)], one, 1)).toEqual([])
  })

  it('weighs judges as the ranking does: no weight counts nothing, and a heavy judge is capped', () => {
    // Two Sybil judges of no weight mark x; the one weighed judge does not.
    const w = (j: string) => (j === 'honest' ? 1 : 0)
    expect(excludedByMarks(['x', 'y', 'z'], [pair('s1', 'x', 'y', 1), pair('s2', 'x', 'z', 1), pair('honest', 'x', 'y')], w, 0.25)).toEqual([])
    // One judge with 10× the weight of three others cannot carry the mark alone under a 25 % cap.
    const heavy = (j: string) => (j === 'big' ? 10 : 1)
    const v = [pair('big', 'x', 'y', 1), pair('a', 'x', 'y'), pair('b', 'x', 'z'), pair('c', 'z', 'x')]
    expect(excludedByMarks(['x', 'y', 'z'], v, heavy, 0.25)).toEqual([])
    expect(excludedByMarks(['x', 'y', 'z'], v, heavy, 1)).toEqual(['x'])
  })

  it("counts a judge's mark by the most of its own verdicts on the answer", () => {
    const v = [pair('j1', 'x', 'y', 1), pair('j1', 'z', 'x'), pair('j1', 'x', 'z'), pair('j2', 'x', 'y', 1), pair('j2', 'x', 'z', 1)]
    // j1 marked x once in three: not its mark. j2 alone marks: half the weight, not most.
    expect(excludedByMarks(['x', 'y', 'z'], v, one, 1)).toEqual([])
  })

  it('never leaves every answer out', () => {
    const v = [pair('j1', 'x', 'y', 3), pair('j2', 'x', 'y', 3)]
    expect(excludedByMarks(['x', 'y'], v, one, 1)).toEqual([])
  })

  it('a minority of the weight never leaves an answer out, whatever it marks (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 9 }), fc.integer({ min: 0, max: 2 ** 20 }), (judges, seed) => {
        // Honest judges mark nothing; fewer than half of them (by count, equal weights) mark every answer they see.
        const liars = Math.floor((judges - 1) / 2)
        const owners = ['a', 'b', 'c', 'd']
        const v: MarkedVerdict[] = []
        for (let j = 0; j < judges; j++)
          for (let k = 0; k < 4; k++) {
            const a = owners[(j + k + seed) % 4]!
            const b = owners[(j + 2 * k + 1 + seed) % 4]!
            if (a !== b) v.push(pair(`j${j}`, a, b, j < liars ? 3 : undefined))
          }
        expect(excludedByMarks(owners, v, one, 1)).toEqual([])
      }),
      { numRuns: 200 },
    )
  })
})

const o6 = (h: Harness) => h.outcome!.outcome

describe('rules 4 rounds', () => {
  const soup = '⟁⟁⟁ ∰∰∰ ⟁⟁⟁'
  const answer = (_n: unknown, i: number) => (i === 6 ? soup : `The answer is ${i < 4 ? 42 : 40 + i}`)
  const marks = (_j: unknown, owner: string) => owner === ident('node-6').id

  it('leave the marked answer out of the ranking; verify recomputes the same; older rules ignore the marks', () => {
    const h = new Harness({ nodes: 7, rules: CURRENT_RULES, answer, marks })
    const o = h.outcome!.outcome
    expect(o.excluded).toEqual([ident('node-6').id])
    expect(o.ranked).toBe(true)
    expect(o.scores.map((s) => s.node)).not.toContain(ident('node-6').id)
    expect(o.scores).toHaveLength(6)
    expect(verifyOpened(h.outcome!.transcript, { ledger: h.ledger, beacons: h.beacons }).outcome).toEqual(o)
    const v3 = new Harness({ nodes: 7, rules: RULES_VERSIONS.get(3)!.rules, answer, marks })
    expect(v3.outcome!.outcome.excluded).toEqual([])
    expect(v3.outcome!.outcome.scores).toHaveLength(7)
  })

  it("needs the rules' own text check to agree: judges marking a genuine answer cannot throw it out", () => {
    // Every judge marks node 0's plain, right answer (colluders would): it stays, ranked.
    const h = new Harness({ nodes: 7, rules: CURRENT_RULES, answer, marks: (_j, owner) => owner === ident('node-0').id || owner === ident('node-6').id })
    expect(h.outcome!.outcome.excluded).toEqual([ident('node-6').id])
    expect(h.outcome!.outcome.scores.map((s) => s.node)).toContain(ident('node-0').id)
    expect(verifyOpened(h.outcome!.transcript, { ledger: h.ledger, beacons: h.beacons }).outcome.excluded).toEqual([ident('node-6').id])
    // Judges marking every answer cannot shield the soup either: "never every answer" counts only
    // the answers the check confirms.
    const everything = new Harness({ nodes: 7, rules: CURRENT_RULES, answer, marks: () => true })
    expect(everything.outcome!.outcome.excluded).toEqual([ident('node-6').id])
    // Symbol soup nobody marked is not left out either: the marks are needed too.
    const unmarked = new Harness({ nodes: 7, rules: CURRENT_RULES, answer })
    expect(unmarked.outcome!.outcome.excluded).toEqual([])
  })

  it('a marked answer forfeits its ticket and moves its answerer toward last, without a ranked round to its record', () => {
    const h = new Harness({ nodes: 7, rules: CURRENT_RULES, answer, marks })
    const members = h.members.map((m) => m.id)
    const verdicts = h.outcome!.transcript.filter((m) => m.env.type === 'VerdictReveal').map((m) => ({ judge: m.env.from, verdicts: (m.env as Envelope<'VerdictReveal'>).body.verdicts }))
    const facts = { coordinator: h.coordId.id, fee: 1_000_000n, ticket: 10_000n, joiners: members, members, revealed: members, winners: [h.outcome!.outcome.winner], outcome: h.outcome!.outcome, verdicts }
    const s = settle(facts, DEFAULT_SETTLEMENT_RULES, () => 1_000_000n)
    expect([...s.forfeits.keys()]).toEqual([ident('node-6').id])
    expect(s.pool).toBe(1_010_000n)
    expect(s.unlocks.size).toBe(6)
    // It is paid only as a judge: as much as a member ranked out of the paid half (which judged as much), to the micro-unit of rounding.
    const unpaidAnswerer = o6(h).scores.at(-1)!.node
    const gap = s.rewards.get(ident('node-6').id)! - s.rewards.get(unpaidAnswerer)!
    expect(gap >= -1n && gap <= 1n).toBe(true)
    const before = newReputation(undefined)
    const after = updateReputation(facts, () => before, undefined).get(ident('node-6').id)!
    expect(after.answerPpm).toBeLessThan(before.answerPpm)
    expect(after.answerRounds).toBe(0)
  })

  it("the golden rules-4 transcript verifies with the symbol-soup answer left out", () => {
    const dir = join(import.meta.dirname, '../golden')
    const envelopes = parseTranscript(readFileSync(join(dir, 'rules-v4-7-nodes.json'), 'utf8'))
    const issued = JSON.parse(readFileSync(join(dir, 'rules-v4-7-nodes.beacons.json'), 'utf8')) as Record<BeaconPhase, IssuedBeacon>
    const v = verifyTranscript(envelopes, { ledger: genesisLedgerView(), beacons: (_r, phase) => issued[phase] })
    expect(v.outcome.excluded).toEqual([ident('node-6').id])
    // The dashboard's round page reads the marks from the transcript alone.
    const soup = roundView(envelopes as Envelope[]).answers.find((a) => a.node === ident('node-6').id)!
    expect(soup).toMatchObject({ score: null, marked: 3, seen: 3 })
  })
})
