import { afterEach, describe, expect, it } from 'vitest'
import { createEmbeddedSwarm, type EmbeddedSwarm } from '../../src/cli/embeddedSwarm.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { RoundFailedError } from '../../src/gateway/swarm.js'
import type { ModelBackend } from '../../src/models/backend.js'
import { InstantBackend } from '../../src/models/instant.js'
import { signEnvelope } from '../../src/protocol/envelope.js'
import { MAX_ENVELOPE_BYTES } from '../../src/protocol/limits.js'
import { genesisLedgerView } from '../../src/round/ledgerView.js'
import { verifyTranscript } from '../../src/round/verify.js'

let swarm: EmbeddedSwarm | undefined
afterEach(async () => {
  await swarm?.stop()
  swarm = undefined
})
const verify = (t: readonly { env: unknown }[]) =>
  verifyTranscript(
    t.map((m) => m.env),
    { ledger: genesisLedgerView() },
  )
const fast = { join: 200, commit: 300, reveal: 300, verdictCommit: 300, verdictReveal: 300 }

describe('runtimes over the in-memory transport', () => {
  it('runs consecutive rounds, each verifiable, with every node back to idle', async () => {
    swarm = createEmbeddedSwarm({ nodes: 7, backendFor: (id) => new InstantBackend(id.id), keySeed: 'rt' })
    const winners: string[] = []
    for (let r = 0; r < 3; r++) {
      const res = await swarm.ask(`question ${r}`)
      expect(res.outcome.ranked).toBe(true)
      expect(verify(res.transcript).outcome.winner).toBe(res.outcome.winner)
      winners.push(res.outcome.winner)
    }
    // Members leave on the RoundEnded notice that follows each answer (bounded wait for the last).
    for (let i = 0; i < 100 && !swarm.nodes.every((n) => n.activeRounds === 0); i++) await new Promise((r) => setTimeout(r, 10))
    expect(swarm.nodes.every((n) => n.activeRounds === 0)).toBe(true)
    // The notice names the winner: each node counts the rounds its own answer won.
    for (const n of swarm.nodes) expect(n.roundsWon).toBe(winners.filter((w) => w === n.id).length)
  })

  it('asks a judge grouped by first answer and returns each verdict on its own pair', async () => {
    // A judge that prefers the alphabetically earlier answer, answering slower for earlier calls so
    // replies arrive out of call order; each node's answer is its own id.
    const calls = new Map<string, string[]>()
    const backendFor = (id: { id: string }): ModelBackend => ({
      name: 'ordered',
      answer: async () => `answer of ${id.id}`,
      judge: async ({ first, second }) => {
        const mine = calls.get(id.id) ?? []
        calls.set(id.id, [...mine, first])
        await new Promise((r) => setTimeout(r, 12 - mine.length))
        return first < second ? { verdict: 'A', pFirst: 0.9 } : { verdict: 'B', pFirst: 0.1 }
      },
    })
    swarm = createEmbeddedSwarm({ nodes: 7, backendFor, keySeed: 'order' })
    const res = await swarm.ask('which comes first?')
    let checked = 0
    for (const m of res.transcript) {
      const env = m.env as { type: string; body: { verdicts?: { a: string; b: string; v: string; p: number }[] } }
      if (env.type !== 'VerdictReveal') continue
      for (const v of env.body.verdicts!) {
        expect(v.v).toBe(`answer of ${v.a}` < `answer of ${v.b}` ? 'A' : 'B')
        expect(v.p).toBe(v.v === 'A' ? 9000 : 1000)
        checked++
      }
    }
    expect(checked).toBe(42)
    for (const firsts of calls.values()) {
      // Each first answer is asked in one run of consecutive calls.
      const runs = firsts.filter((f, i) => i === 0 || firsts[i - 1] !== f)
      expect(new Set(runs).size).toBe(runs.length)
    }
  })

  it('survives latency and loss: lost messages cost only their sender', async () => {
    let k = 0
    swarm = createEmbeddedSwarm({
      nodes: 9,
      backendFor: (id) => new InstantBackend(id.id),
      keySeed: 'lossy',
      durations: fast,
      // Deterministic ~5 % loss.
      network: {
        latencyMs: (from, to) => 1 + ((from.charCodeAt(0) + to.charCodeAt(0)) % 3),
        lossRate: 0.05,
        random: () => ((k++ * 7919) % 100) / 100,
      },
    })
    const res = await swarm.ask('lossy question')
    expect(verify(res.transcript).outcome.winner).toBe(res.outcome.winner)
  })

  it('drops a node whose model stalls past the deadline, and the round still completes', async () => {
    const stall: ModelBackend = {
      name: 'stall',
      answer: () => new Promise(() => {}),
      judge: async () => ({ verdict: 'U' }),
    }
    swarm = createEmbeddedSwarm({
      nodes: 5,
      backendFor: (id, i) => (i === 0 ? stall : new InstantBackend(id.id)),
      keySeed: 'stall',
      durations: fast,
    })
    const t0 = Date.now()
    const res = await swarm.ask('question')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(fast.join > 0 ? 250 : 0)
    expect(res.outcome.scores).toHaveLength(4)
    expect(verify(res.transcript).outcome.scores.map((s) => s.node)).not.toContain(swarm.nodes[0]!.id)
  })

  it('fails clearly when no node answers', async () => {
    swarm = createEmbeddedSwarm({ nodes: 0, backendFor: (id) => new InstantBackend(id.id), durations: fast })
    await expect(
      swarm.ask('anyone?', { minMembers: 1, maxMembers: 3, joinTarget: 3 }),
    ).rejects.toBeInstanceOf(RoundFailedError)
    await expect(swarm.ask('anyone?', { minMembers: 1, maxMembers: 3, joinTarget: 3 })).rejects.toMatchObject(
      { code: 'NO_MEMBERS' },
    )
  })

  it('rejects forged, replayed, oversized and wrong-round messages on the wire, counted by reason', async () => {
    swarm = createEmbeddedSwarm({
      nodes: 4,
      backendFor: (id) => new InstantBackend(id.id),
      keySeed: 'wire',
      durations: fast,
    })
    const coord = swarm.coordinator
    const node = swarm.nodes[0]!
    const attacker = swarm.network.endpoint('ee'.repeat(32))
    const mallory = identityFromSeed(Buffer.alloc(32, 9))
    // Capture a real Query as it goes by, then attack while the round runs.
    attacker.subscribe('chorus/v1/queries')
    const seen: Uint8Array[] = []
    attacker.onMessage((m) => seen.push(m.data))
    const pending = swarm.ask('under attack')
    await new Promise((r) => setTimeout(r, 5))
    const query = seen[0]!
    const roundId = JSON.parse(Buffer.from(query).toString()).round as string
    // Forged: a Join claiming to be from node 0, signed by mallory.
    const real = signEnvelope(mallory, { type: 'Join', round: roundId, seq: 7, body: { ticket: '0' } })
    const forged = Buffer.from(real.wire.toString().replace(mallory.id, node.id))
    await attacker.send(coord.id, forged)
    // Replayed: the Query again, to a node.
    await attacker.send(node.id, query)
    // Oversized and garbage.
    await attacker.send(coord.id, new Uint8Array(MAX_ENVELOPE_BYTES + 10))
    await attacker.send(coord.id, Buffer.from('{"hello":'))
    // Wrong round: a validly signed message for a round that does not exist.
    await attacker.send(
      coord.id,
      signEnvelope(mallory, { type: 'Join', round: 'ab'.repeat(32), seq: 0, body: { ticket: '0' } }).wire,
    )
    const res = await pending
    expect(verify(res.transcript).outcome.winner).toBe(res.outcome.winner)
    expect(Object.fromEntries(coord.intake.rejections)).toMatchObject({
      BAD_SIGNATURE: 1,
      OVERSIZED: 1,
      MALFORMED: 1,
      WRONG_ROUND: 1,
    })
    expect(node.intake.rejections.get('REPLAY')).toBe(1)
  })

  it('lets a caller abort a round', async () => {
    swarm = createEmbeddedSwarm({
      nodes: 3,
      backendFor: () => ({
        name: 'slow',
        answer: () => new Promise(() => {}),
        judge: async () => ({ verdict: 'U' }),
      }),
    })
    const ac = new AbortController()
    const p = swarm.ask('q', {}, { signal: ac.signal })
    ac.abort()
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' })
    expect(swarm.coordinator.activeRounds).toBe(0)
  })
})
