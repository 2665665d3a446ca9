import { describe, expect, it } from 'vitest'
import { commitment } from '../../src/crypto/commitment.js'
import { signEnvelope } from '../../src/protocol/envelope.js'
import { MAX_ANSWER_CHARS } from '../../src/protocol/limits.js'
import { CoordinatorRound } from '../../src/round/coordinator.js'
import { genesisLedgerView } from '../../src/round/ledgerView.js'
import { DEFAULT_GRACE_MS, ParticipantRound } from '../../src/round/participant.js'
import { verdictPayload } from '../../src/round/rules.js'
import { verifyTranscript } from '../../src/round/verify.js'
import { Harness, ident, salt } from './harness.js'

const verify = (h: Harness) =>
  verifyTranscript(
    h.outcome!.transcript.map((m) => m.env),
    { ledger: h.ledger },
  )

describe('a round, phase by phase', () => {
  it('runs every phase on quorum, ranks the best answer first, and verifies', () => {
    const h = new Harness({ nodes: 7 })
    expect(h.round.phase).toBe('done')
    const o = h.outcome!.outcome
    expect(o.ranked).toBe(true)
    // The default judges prefer lower-numbered members, so node-0 must win.
    expect(o.winner).toBe(h.members[0]!.id)
    expect(o.scores.map((s) => s.node)).toEqual(h.members.map((m) => m.id))
    expect(Object.keys(h.round.times)).toEqual([
      'issued',
      'joining',
      'committing',
      'revealing',
      'verdictCommitting',
      'verdictRevealing',
      'done',
    ])
    expect(h.rejected).toEqual([])
    const v = verify(h)
    expect(v.outcome.winner).toBe(o.winner)
    expect(v.root).toBe(h.outcome!.result.env.body.root)
    // Every member ended its round normally: as a judge, or with no triangle left for it.
    const reasons = [...h.finishedReasons().values()]
    expect(reasons.every((r) => r === 'done' || r === 'no-tasks')).toBe(true)
    expect(reasons.filter((r) => r === 'done').length).toBeGreaterThanOrEqual(5)
  })

  it('lets agreement decide when the judges say nothing, and judges overrule a weak majority', () => {
    // Four of seven nodes give the same final answer (in different words); every verdict is a tie.
    const answer = (_: unknown, i: number) => (i < 4 ? `After some thought, the answer is ${i % 2 ? '42' : '42.0'}` : `I get ${i * 10}`)
    const ties = new Harness({ nodes: 7, answer, verdict: () => 'T' })
    const o = verify(ties).outcome
    expect(o.scores[0]!.support).toBe(4)
    expect(ties.members.slice(0, 4).map((m) => m.id)).toContain(o.winner)
    // Now the judges consistently prefer node 6's lone answer over everything: it wins anyway.
    const six = ident('node-6').id
    const strong = new Harness({ nodes: 7, answer, verdict: (_, a, b) => (a === six ? 'A' : b === six ? 'B' : 'T') })
    expect(verify(strong).outcome.winner).toBe(six)
  })

  it('waits for the join deadline when fewer nodes join than the target', () => {
    const h = new Harness({ nodes: 4, request: { joinTarget: 10, maxMembers: 10 } })
    expect(h.round.phase).toBe('joining')
    h.tick(h.round.deadlines.join - 1)
    expect(h.round.phase).toBe('joining')
    h.tick(h.round.deadlines.join)
    expect(h.round.phase).toBe('done')
    expect(h.outcome!.outcome.ranked).toBe(true)
    expect(verify(h).outcome.winner).toBe(h.members[0]!.id)
  })

  it('fails with NO_MEMBERS when too few join by the deadline, and tells the joiners so they leave at once', () => {
    const h = new Harness({ nodes: 2, request: { minMembers: 3, maxMembers: 5 } })
    h.tick(h.round.deadlines.join)
    expect(h.round.phase).toBe('failed')
    expect(h.failure?.code).toBe('NO_MEMBERS')
    // Before any member deadline: RoundEnded ended their rounds.
    expect([...h.finishedReasons().values()]).toEqual(['abandoned', 'abandoned'])
  })

  it('an unranked round (two answers) still sends RevealsSealed and the Result: every member hears how it ended', () => {
    const h = new Harness({ nodes: 3, answer: (_n, i) => (i === 2 ? undefined : `answer ${i}`) })
    h.tick(h.round.deadlines.commit)
    expect(h.round.phase).toBe('done')
    expect(h.outcome!.outcome.ranked).toBe(false)
    const reasons = h.finishedReasons()
    expect(reasons.get(h.members[0]!.id)).toBe('done')
    expect(reasons.get(h.members[1]!.id)).toBe('done')
    expect(reasons.get(h.members[2]!.id)).toBe('dropped')
    expect(verify(h).outcome.ranked).toBe(false)
  })

  it('a round abandoned by its runtime tells whoever it was waiting on', () => {
    const h = new Harness({ nodes: 4, answer: () => undefined })
    expect(h.round.phase).toBe('committing')
    const effects = h.round.abandon('cancelled', h.now)
    expect(h.round.phase).toBe('failed')
    expect(effects).toHaveLength(1)
    const e = effects[0]!
    expect(e.kind === 'send' && e.msg.env.type === 'RoundEnded' && e.to.length).toBe(4)
    expect(h.round.abandon('cancelled', h.now)).toEqual([])
  })

  it('refuses a Join with the wrong ticket with its own code', () => {
    const h = new Harness({ nodes: 3, request: { joinTarget: 4, maxMembers: 4 } })
    const m = ident('late-joiner')
    h.deliverToCoordinator(signEnvelope(m, { type: 'Join', round: h.round.roundId, seq: 0, body: { ticket: '5' } }))
    expect(h.rejected).toContainEqual({ code: 'BAD_TICKET', type: 'Join' })
  })

  it('selects maxMembers by the lowest H(roundId‖nodeId), and tells the others', () => {
    const h = new Harness({ nodes: 6, request: { maxMembers: 4, joinTarget: 6 } })
    h.runDeadlines()
    const reasons = h.finishedReasons()
    expect([...reasons.values()].filter((r) => r === 'not-selected')).toHaveLength(2)
    expect(verify(h).outcome.scores).toHaveLength(4)
  })

  it('excludes a member that never reveals, at the reveal deadline', () => {
    const silent = ident('node-2').id
    const h = new Harness({
      nodes: 7,
      toCoordinator: (m, from) => !(m.env.type === 'AnswerReveal' && from.id === silent),
    })
    expect(h.round.phase).toBe('revealing')
    h.runDeadlines()
    expect(h.round.phase).toBe('done')
    const o = verify(h).outcome
    expect(o.scores.map((s) => s.node)).not.toContain(silent)
    expect(o.scores).toHaveLength(6)
  })

  it('rejects a reveal that does not open its commit, and excludes that answer', () => {
    const cheat = ident('node-1')
    const h = new Harness({
      nodes: 5,
      toCoordinator: (m, from, h) => {
        if (m.env.type !== 'AnswerReveal' || from.id !== cheat.id) return true
        // Reveal a different answer than the one committed, properly signed.
        h.deliverToCoordinator(
          signEnvelope(cheat, {
            type: 'AnswerReveal',
            round: m.env.round,
            seq: 9,
            body: { answer: 'changed my mind', salt: salt('x'), usage: { prompt: 0, completion: 0 } },
          }),
        )
        return false
      },
    })
    expect(h.rejected).toContainEqual({ code: 'COMMIT_MISMATCH', type: 'AnswerReveal' })
    h.runDeadlines()
    expect(verify(h).outcome.scores.map((s) => s.node)).not.toContain(cheat.id)
  })

  it('completes without a member that crashed after committing', () => {
    const crashed = ident('node-4').id
    const h = new Harness({
      nodes: 7,
      toMember: (m, to) => !(to.id === crashed && m.env.type === 'CommitsSealed'),
    })
    h.runDeadlines()
    expect(h.round.phase).toBe('done')
    expect(verify(h).outcome.scores.map((s) => s.node)).not.toContain(crashed)
  })

  it('drops a judge that does not commit verdicts in time, and still ranks', () => {
    const lazy = ident('node-3').id
    const h = new Harness({
      nodes: 7,
      toCoordinator: (m, from) => !(m.env.type === 'VerdictCommit' && from.id === lazy),
    })
    h.runDeadlines()
    const o = verify(h).outcome
    expect(o.ranked).toBe(true)
    // Exactly the verdicts of the judges that revealed: none from the lazy one.
    const judged = h.outcome!.transcript.filter((m) => m.env.type === 'VerdictReveal')
    expect(judged.map((m) => m.env.from)).not.toContain(lazy)
    expect(o.verdictCount).toBe(judged.reduce((n, m) => n + (m.env.body as { verdicts: unknown[] }).verdicts.length, 0))
    expect(o.verdictCount).toBeLessThan(42)
  })

  it('returns an unranked answer with fewer than 3 revealed answers', () => {
    const h = new Harness({ nodes: 2, request: { minMembers: 2 } })
    expect(h.round.phase).toBe('done')
    const o = verify(h).outcome
    expect(o.ranked).toBe(false)
    expect(o.scores).toEqual([])
    expect(h.outcome!.result.env.body.ranked).toBe(false)
  })

  it('ignores a message for another round, a duplicate, and a non-member', () => {
    const h = new Harness({ nodes: 4, request: { joinTarget: 5, maxMembers: 5 } })
    const m = h.members[0]!
    h.deliverToCoordinator(
      signEnvelope(m, { type: 'Join', round: 'ab'.repeat(32), seq: 0, body: { ticket: '0' } }),
    )
    h.deliverToCoordinator(
      signEnvelope(m, { type: 'Join', round: h.round.roundId, seq: 5, body: { ticket: '0' } }),
    )
    h.deliverToCoordinator(
      signEnvelope(ident('stranger'), {
        type: 'AnswerCommit',
        round: h.round.roundId,
        seq: 0,
        body: { c: salt('c') },
      }),
    )
    expect(h.rejected.map((r) => r.code)).toEqual(['WRONG_ROUND', 'DUPLICATE', 'WRONG_PHASE'])
  })

  it('refuses an answer over the size limit before it reaches the round', () => {
    const h = new Harness({
      nodes: 3,
      answer: (_, i) => (i === 0 ? 'x'.repeat(MAX_ANSWER_CHARS + 1) : 'fine'),
    })
    expect(h.rejected).toContainEqual({ code: 'SCHEMA', type: 'AnswerReveal' })
  })

  it('rejects verdicts on pairs other than the assigned ones', () => {
    const judge = ident('node-1')
    let bad: ReturnType<typeof signEnvelope> | undefined
    const h = new Harness({
      nodes: 7,
      toCoordinator: (m, from, h) => {
        if (from.id !== judge.id) return true
        if (m.env.type === 'VerdictCommit') {
          // Commit to a verdict list whose first pair is swapped, so the commit itself opens.
          const vs = h.memberEffects.find((e) => e.node === judge.id && e.effect.kind === 'judge')!
            .effect as { tasks: { a: string; b: string }[] }
          const verdicts = vs.tasks.map((t, k) =>
            k === 0 ? { a: t.b, b: t.a, v: 'A' as const, p: -1 } : { a: t.a, b: t.b, v: 'A' as const, p: -1 },
          )
          const s2 = salt('bad')
          const c = commitment(m.env.round, judge.id, verdictPayload(verdicts), s2)
          h.deliverToCoordinator(
            signEnvelope(judge, { type: 'VerdictCommit', round: m.env.round, seq: 20, body: { c } }),
          )
          bad = signEnvelope(judge, {
            type: 'VerdictReveal',
            round: m.env.round,
            seq: 21,
            body: { verdicts, salt: s2, usage: { prompt: 0, completion: 0 } },
          })
          return false
        }
        return true
      },
    })
    // The judge's own machine saw its real commit unsealed and stopped; the forged reveal arrives.
    expect(h.round.phase).toBe('verdictRevealing')
    h.deliverToCoordinator(bad!)
    expect(h.rejected).toContainEqual({ code: 'BAD_VERDICTS', type: 'VerdictReveal' })
    h.runDeadlines()
    expect(verify(h).outcome.verdictCount).toBe(36)
  })
})

describe('participants check the coordinator', () => {
  it('refuses to reveal when r0 does not open c0 (the coordinator cannot pick its seed)', () => {
    // The coordinator's Query committed to one r0; sealing with another would let it choose the
    // seed after seeing the commits. Members see the mismatch and withhold their answers.
    const h = new Harness({
      nodes: 5,
      toMember: (m, _to, h) => {
        if (m.env.type !== 'CommitsSealed') return true
        const body = { ...(m.env.body as { commits: string; r0: string; at: number }), r0: salt('chosen') }
        const forged = signEnvelope(h.coordId, { type: 'CommitsSealed', round: m.env.round, seq: 50, body })
        for (const node of h.members) h.parts.get(node.id)!.apply(h.reopen(forged))
        return false
      },
    })
    expect([...h.finishedReasons().values()].every((r) => r === 'coordinator-misbehaved')).toBe(true)
  })

  it('rejects a Query whose round id does not follow from its body, and a stale coordinator sequence', () => {
    const h = new Harness({ nodes: 3 })
    const q = h.round.query
    const forged = signEnvelope(h.coordId, {
      type: 'Query',
      round: 'cd'.repeat(32),
      seq: 0,
      body: q.env.body,
    })
    expect(() =>
      ParticipantRound.fromQuery(
        { identity: h.members[0]!, ledger: h.ledger },
        h.reopen(forged) as never,
        undefined,
      ),
    ).toThrow(expect.objectContaining({ code: 'BAD_ROUND_ID' }))
    expect(() =>
      ParticipantRound.fromQuery(
        { identity: h.members[0]!, ledger: h.ledger },
        h.reopen(q) as never,
        q.env.body.coordSeq + 1,
      ),
    ).toThrow(expect.objectContaining({ code: 'STALE_SEQUENCE' }))
  })

  it('notices when its Join was left out of the member seal', () => {
    const censored = ident('node-1').id
    const h = new Harness({
      nodes: 4,
      request: { joinTarget: 3, maxMembers: 4 },
      toCoordinator: (m, from) => !(m.env.type === 'Join' && from.id === censored),
    })
    h.runDeadlines()
    expect(h.finishedReasons().get(censored)).toBe('censored')
  })
})

describe('a member checks the Query before it joins', () => {
  const start = (over: Partial<Parameters<typeof CoordinatorRound.start>[1]>) =>
    CoordinatorRound.start(
      { identity: ident('coordinator'), ledger: genesisLedgerView() },
      { coordSeq: 7, messages: [{ role: 'user', content: 'q' }], minMembers: 3, maxMembers: 5, durations: { join: 10, commit: 10, reveal: 10, verdictCommit: 10, verdictReveal: 10 }, ...over },
      salt('r0'),
      1_000,
    ).round.query
  const code = (fn: () => unknown) => {
    try {
      fn()
    } catch (err) {
      return (err as { code?: string }).code
    }
    return 'accepted'
  }
  const ctx = { identity: ident('member'), ledger: genesisLedgerView() }

  it('refuses a `since` above the Query’s own sequence, deadlines out of order, and a Query from before its coordinator restarted, each with its code', () => {
    expect(code(() => ParticipantRound.fromQuery(ctx, start({}), undefined))).toBe('accepted')
    expect(code(() => ParticipantRound.fromQuery(ctx, start({ since: 8 }), undefined))).toBe('BAD_QUERY')
    expect(code(() => ParticipantRound.fromQuery(ctx, start({ durations: { join: 10, commit: -5, reveal: 10, verdictCommit: 10, verdictReveal: 10 } }), undefined))).toBe('BAD_QUERY')
    // Same session, any order: an earlier Query of the session is still good.
    expect(code(() => ParticipantRound.fromQuery(ctx, start({ since: 3 }), 3))).toBe('accepted')
    expect(code(() => ParticipantRound.fromQuery(ctx, start({ since: 3 }), 8))).toBe('STALE_SEQUENCE')
  })

  it('names its next deadline in every phase, so a runtime never has to guess one', () => {
    const p = ParticipantRound.fromQuery(ctx, start({}), undefined)
    expect(p.nextDeadline()).toBe(1_010 + DEFAULT_GRACE_MS)
    p.start()
    expect(p.nextDeadline()).toBe(1_010 + DEFAULT_GRACE_MS)
    expect(p.tick(1_010 + DEFAULT_GRACE_MS)).toEqual([{ kind: 'finished', reason: 'censored', detail: 'no member seal arrived by the join deadline' }])
    expect(p.nextDeadline()).toBeUndefined()
  })
})
