import { describe, expect, it } from 'vitest'
import { merkleRoot } from '../../src/crypto/merkle.js'
import { type Envelope, type Signed, signEnvelope } from '../../src/protocol/envelope.js'
import type { BodyOf, MessageType, QueryBody } from '../../src/protocol/messages.js'
import { CURRENT_RULES, LEDGERLESS_RULES, RULES_VERSIONS, rulesProblem } from '../../src/protocol/rulesVersions.js'
import { CoordinatorRound } from '../../src/round/coordinator.js'
import { genesisLedgerView } from '../../src/round/ledgerView.js'
import { checkQuery } from '../../src/round/participant.js'
import { verifyOpened } from '../../src/round/verify.js'
import { Harness, ident } from './harness.js'

const coordinator = ident('coordinator')

/** Re-signs the coordinator's messages `edits` names after their change, and the Result (its root covers them). */
function forge(transcript: readonly Signed[], edits: [number, (body: Record<string, unknown>) => void][]): Signed[] {
  const out = [...transcript]
  const resign = (i: number, body: unknown) => {
    const e = out[i]!.env
    out[i] = signEnvelope(coordinator, { type: e.type as MessageType, round: e.round, seq: e.seq, body: body as BodyOf<MessageType> })
  }
  for (const [index, mutate] of edits) {
    const body = structuredClone(out[index]!.env.body) as Record<string, unknown>
    mutate(body)
    resign(index, body)
  }
  const last = out.length - 1
  resign(last, { ...(out[last]!.env.body as object), root: merkleRoot(out.slice(0, last).map((m) => m.wire)) })
  return out
}

describe('versioned rules', () => {
  it('every Query signs its rules (version 1 on no ledger), and verification computes the outcome by them', () => {
    const h = new Harness({ nodes: 7 })
    const query = h.outcome!.transcript[0]!.env.body as QueryBody
    expect(query.rules).toEqual(LEDGERLESS_RULES)
    expect(verifyOpened(h.outcome!.transcript, { ledger: h.ledger }).outcome.winner).toBe(h.outcome!.outcome.winner)
  })

  it('refuses an unknown version, and a known one stated with other values (no coordinator picks its own judge cap)', () => {
    expect(rulesProblem({ ...CURRENT_RULES, version: 99 })).toMatch(/rules version 99 is unknown here \(this Chorus knows 1, 2, 3, 4\)/)
    expect(rulesProblem({ ...CURRENT_RULES, maxJudgeShareBp: 10_000 })).toMatch(/fixes maxJudgeShareBp at 2500, not 10000/)
    expect(rulesProblem({ ...CURRENT_RULES, sealGraceMs: 3_600_000 })).toMatch(/fixes sealGraceMs/)
    expect(rulesProblem(CURRENT_RULES, { oldestLive: CURRENT_RULES.version + 1 })).toMatch(/older than the oldest this ledger still settles/)
    expect(rulesProblem(CURRENT_RULES)).toBeUndefined()
    for (const [version, v] of RULES_VERSIONS) expect(v.rules.version).toBe(version)

    // A node refuses such a Query before joining; a transcript of one does not verify.
    for (const rules of [{ ...CURRENT_RULES, version: 99 }, { ...CURRENT_RULES, maxJudgeShareBp: 10_000 }]) {
      const { round } = CoordinatorRound.start(
        { identity: coordinator, ledger: genesisLedgerView(), rules },
        { coordSeq: 1, messages: [{ role: 'user', content: 'q' }], minMembers: 3, maxMembers: 3, durations: { join: 100, commit: 100, reveal: 100, verdictCommit: 100, verdictReveal: 100 } },
        'ab'.repeat(32),
        1_000,
      )
      expect(() => checkQuery(round.query, undefined)).toThrow(expect.objectContaining({ code: 'VERSION' }))
      expect(() => verifyOpened([round.query], { ledger: genesisLedgerView() })).toThrow(/rules version/)
    }
  })

  it('refuses a seal dated past its phase deadline and the grace, however well signed', () => {
    const h = new Harness({ nodes: 5 })
    const t = h.outcome!.transcript
    const q = t[0]!.env.body as QueryBody
    const at = (type: string) => t.findIndex((m) => m.env.type === type)
    // Members sealed three hours after the join deadline (every later message dated after it too).
    const late = q.deadlines.join + 3 * 3_600_000
    const forged = forge(t, [[at('Members'), (b) => (b.at = late)]])
    expect(() => verifyOpened(forged, { ledger: h.ledger })).toThrow(/Members is dated 10800000 ms after its phase's deadline \(the rules allow 2000 ms\)/)
    // Within the grace it holds (a timer that fired a moment late): every seal a second after the
    // join deadline, which is past the later phases' deadlines too, by less than the grace.
    const second = q.deadlines.join + 1_000
    const seals = ['Members', 'CommitsSealed', 'RevealsSealed', 'VerdictCommitsSealed', 'VerdictsSealed'].map((type) => [at(type), (b: Record<string, unknown>) => (b.at = second)] as [number, (b: Record<string, unknown>) => void])
    const onTime = forge(t, [...seals, [t.length - 1, (b) => (b.at = second)]])
    expect(() => verifyOpened(onTime, { ledger: h.ledger })).not.toThrow()
    // The Result is bound by the last deadline.
    const lateResult = forge(t, [[t.length - 1, (b) => (b.at = q.deadlines.verdictReveal + 10_000)]])
    expect(() => verifyOpened(lateResult, { ledger: h.ledger })).toThrow(/Result is dated 10000 ms after/)
  })

  it('a coordinator that falls behind its deadlines past the grace gives the round up instead of sealing it late', () => {
    const h = new Harness({ nodes: 5, toCoordinator: (msg) => msg.env.type !== 'AnswerCommit' })
    // The harness ticks at deadlines; here the commit phase closes 5 s late.
    const round = h.round
    const failed = round.tick(round.deadlines.commit + CURRENT_RULES.sealGraceMs + 5_000)
    expect(failed).toContainEqual(expect.objectContaining({ kind: 'failed', code: 'LATE' }))
    expect(failed.some((e) => e.kind === 'send' && (e.msg.env as Envelope<'RoundEnded'>).body.reason === 'late')).toBe(true)
  })
})
