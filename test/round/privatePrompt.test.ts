import { describe, expect, it } from 'vitest'
import { merkleRoot } from '../../src/crypto/merkle.js'
import { type Signed, signEnvelope } from '../../src/protocol/envelope.js'
import type { BodyOf, MessageType, QueryBody } from '../../src/protocol/messages.js'
import { CURRENT_RULES } from '../../src/protocol/rulesVersions.js'
import { checkQuery } from '../../src/round/participant.js'
import { promptHash, roundIdOf } from '../../src/round/rules.js'
import { verifyOpened } from '../../src/round/verify.js'
import { Harness } from './harness.js'

/**
 * Private rounds: the Query broadcasts only the prompt's salted hash and size; the coordinator
 * sends the prompt, signed, to the members it seats and to nobody else; members check it against
 * the hash; the transcript keeps it after the Members seal, and verification checks it there.
 */
const ASKED = [{ role: 'user' as const, content: 'My account number is 12345678; what is 6 × 7?' }]

function privateRound(nodes: number, maxMembers: number, over: Partial<ConstructorParameters<typeof Harness>[0]> = {}) {
  const reached = new Set<string>()
  const h = new Harness({
    nodes,
    rules: CURRENT_RULES,
    request: { private: true, messages: ASKED, maxMembers },
    toMember: (msg, to) => {
      if (msg.env.type === 'Prompt') reached.add(to.id)
      return true
    },
    ...over,
  })
  return Object.assign(h, { reached })
}

describe('a private round', () => {
  it('broadcasts only the hash and size; only the seated members get the prompt, and answer it', () => {
    const h = privateRound(7, 4)
    const q = h.round.query.env.body
    expect(q.messages).toEqual([])
    expect(q.prompt).toEqual({ hash: expect.stringMatching(/^[0-9a-f]{64}$/), chars: ASKED[0]!.content.length })
    expect(JSON.stringify(h.round.query.env)).not.toContain('12345678')
    const seated = new Set(h.round.seated)
    expect(seated.size).toBe(4)
    expect(h.reached).toEqual(seated)
    // Each member's model was asked the prompt (the generate effect carries it).
    const asked = h.memberEffects.filter((e) => e.effect.kind === 'generate').map((e) => (e.effect as { query: QueryBody }).query.messages)
    expect(asked).toHaveLength(4)
    for (const m of asked) expect(m).toEqual(ASKED)
    expect(h.outcome!.outcome.ranked).toBe(true)
  })

  it('keeps the prompt in the transcript after the Members seal, where verification checks it against the hash', () => {
    const h = privateRound(5, 5)
    const t = h.outcome!.transcript
    const at = t.findIndex((m) => m.env.type === 'Prompt')
    expect(t[at - 1]!.env.type).toBe('Members')
    const v = verifyOpened(t, { ledger: h.ledger, beacons: h.beacons })
    expect(v.prompt).toEqual(ASKED)
    expect(v.query.messages).toEqual([])

    // Without its Prompt, or with another prompt re-signed in its place, the transcript is INVALID.
    const coordinator = h.coordId
    const resign = (msgs: Signed[], i: number, body: unknown) => {
      const e = msgs[i]!.env
      msgs[i] = signEnvelope(coordinator, { type: e.type as MessageType, round: e.round, seq: e.seq, body: body as BodyOf<MessageType> })
    }
    const reroot = (msgs: Signed[]) => {
      const last = msgs.length - 1
      resign(msgs, last, { ...(msgs[last]!.env.body as object), root: merkleRoot(msgs.slice(0, last).map((m) => m.wire)) })
      return msgs
    }
    const dropped = reroot(t.filter((m) => m.env.type !== 'Prompt'))
    expect(() => verifyOpened(dropped, { ledger: h.ledger, beacons: h.beacons })).toThrow(/expected the coordinator's Prompt/)
    const swapped = [...t]
    resign(swapped, at, { ...(t[at]!.env.body as object), messages: [{ role: 'user', content: 'something else' }] })
    expect(() => verifyOpened(reroot(swapped), { ledger: h.ledger, beacons: h.beacons })).toThrow(/does not open the Query's prompt hash/)
  })

  it('a member given a prompt that does not open the hash stops, naming the coordinator', () => {
    const h = privateRound(5, 5, {
      toMember: (msg, _to, harness) => {
        if (msg.env.type !== 'Prompt' || (msg.env.body as BodyOf<'Prompt'>).messages[0]!.content === 'Ignore the question.') return true
        // The coordinator's key, another prompt: the hash in the Query does not open.
        const forged = signEnvelope(harness.coordId, { type: 'Prompt', round: msg.env.round, seq: msg.env.seq, body: { ...(msg.env.body as BodyOf<'Prompt'>), messages: [{ role: 'user', content: 'Ignore the question.' }] } })
        harness.deliverToMember(_to, forged)
        return false
      },
    })
    const reasons = [...h.finishedReasons().values()]
    expect(reasons.filter((r) => r === 'coordinator-misbehaved')).toHaveLength(5)
    expect(h.outcome).toBeUndefined()
  })

  it('a Prompt in a round whose Query carries its messages, or from anyone but the coordinator, is refused', () => {
    // Each forged Prompt reaches member 0 just before its Members seal, while the round is open there.
    const injecting = (forge: (h: Harness) => Signed) => {
      let done = false
      return (msg: Signed, to: { id: string }, h: Harness) => {
        if (!done && msg.env.type === 'Members' && to.id === h.members[0]!.id) {
          done = true
          h.deliverToMember(h.members[0]!, forge(h))
        }
        return true
      }
    }
    const prompt = (from: Parameters<typeof signEnvelope>[0], h: Harness) => signEnvelope(from, { type: 'Prompt', round: h.round.roundId, seq: 99, body: { messages: ASKED, salt: 'ab'.repeat(32) } })
    const open = new Harness({ nodes: 3, rules: CURRENT_RULES, toMember: injecting((h) => prompt(h.coordId, h)) })
    expect(open.rejected).toContainEqual({ code: 'WRONG_PHASE', type: 'Prompt' })
    expect(open.outcome?.outcome.ranked).toBe(true)
    const fromMember = privateRound(3, 3, { toMember: injecting((h) => prompt(h.members[1]!, h)) })
    expect(fromMember.rejected).toContainEqual({ code: 'WRONG_SENDER', type: 'Prompt' })
    expect(fromMember.outcome?.outcome.ranked).toBe(true)
  })

  it('a Prompt that never comes ends the round by its deadline: the coordinator gives up and tells the members, nothing hangs', () => {
    const h = privateRound(5, 5, { toMember: (msg) => msg.env.type !== 'Prompt' })
    expect(h.outcome).toBeUndefined()
    h.runDeadlines()
    const reasons = h.finishedReasons()
    expect(reasons.size).toBe(5)
    // The coordinator gives the round up at the commit deadline and tells them.
    for (const r of reasons.values()) expect(r).toBe('abandoned')
    expect(h.failure?.code).toBe('NO_ANSWERS')
    expect(h.round.nextDeadline()).toBeUndefined()
    // A member that hears nothing more (no Prompt, no word that the round ended) leaves by itself.
    const silent = privateRound(5, 5, { toMember: (msg, to, hh) => msg.env.type !== 'Prompt' && !(to.id === hh.members[0]!.id && msg.env.type === 'RoundEnded') })
    silent.runDeadlines()
    expect(silent.finishedReasons().get(silent.members[0]!.id)).toBe('dropped')
  })

  it('refuses a private Query that also carries its messages, and one with neither', () => {
    const h = privateRound(3, 3)
    const body = h.round.query.env.body
    const signed = (b: QueryBody) => signEnvelope(h.coordId, { type: 'Query', round: roundIdOf(h.coordId.id, b), seq: 0, body: b }) as Signed<'Query'>
    expect(() => checkQuery(signed(body), undefined)).not.toThrow()
    expect(() => checkQuery(signed({ ...body, messages: ASKED }), undefined)).toThrow(/a private Query that carries its messages too/)
    const { prompt: _dropped, ...neither } = body
    expect(() => checkQuery(signed(neither), undefined)).toThrow(/neither messages nor a prompt hash|without messages or a prompt hash/)
    // The salt keeps a short prompt from being guessed from its hash.
    expect(promptHash(ASKED, 'ab'.repeat(32))).not.toBe(promptHash(ASKED, 'cd'.repeat(32)))
  })
})
