import { afterEach, describe, expect, it } from 'vitest'
import { hashParts } from '../../src/crypto/hash.js'
import { type Identity, identityFromSeed } from '../../src/crypto/identity.js'
import { CoordinatorService } from '../../src/gateway/coordinatorService.js'
import { RoundFailedError } from '../../src/gateway/swarm.js'
import type { JudgeReply, ModelBackend } from '../../src/models/backend.js'
import { InstantBackend } from '../../src/models/instant.js'
import { NodeDaemon } from '../../src/node/nodeDaemon.js'
import { NodeDirectory } from '../../src/gateway/nodeDirectory.js'
import { StatusReporter } from '../../src/node/statusReporter.js'
import type { ParticipationLimits } from '../../src/node/participation.js'
import { QUERY_TOPIC } from '../../src/protocol/limits.js'
import { CoordinatorRound, type PhaseDurations } from '../../src/round/coordinator.js'
import { fixedLedger } from '../../src/ledger/networkLedger.js'
import { genesisLedgerView } from '../../src/round/ledgerView.js'
import { DEFAULT_GRACE_MS } from '../../src/round/participant.js'
import { MemoryNetwork } from '../../src/transport/memory.js'
import type { Transport } from '../../src/transport/transport.js'
import { ManualClock } from '../runtime/manualClock.js'

/**
 * The node runtime on a manual clock over the in-memory network: real signatures, real state
 * machines, time moved by the test. Each test reproduces a way a node used to keep a round (and a
 * capacity slot) for ever.
 */
const ledger = genesisLedgerView()
const key = (label: string): Identity => identityFromSeed(Buffer.from(hashParts('node-test', label), 'hex'))
const DUR: PhaseDurations = { join: 1_000, commit: 5_000, reveal: 1_000, verdictCommit: 5_000, verdictReveal: 1_000 }
const LAST = DUR.join + DUR.commit + DUR.reveal + DUR.verdictCommit + DUR.verdictReveal

/** Lets the in-memory network deliver everything in flight (it delivers on later turns). */
const settle = async (turns = 30) => {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r))
}

interface World {
  clock: ManualClock
  net: MemoryNetwork
  nodes: NodeDaemon[]
  coordinator(label?: string): { service: CoordinatorService; endpoint: Transport; identity: Identity }
}

let stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops) await s()
  stops = []
})

function world(n: number, opts: { backend?: (id: Identity, i: number) => ModelBackend; limits?: Partial<ParticipationLimits> } = {}): World {
  const clock = new ManualClock()
  const net = new MemoryNetwork()
  const nodes = Array.from({ length: n }, (_, i) => {
    const id = key(`n${i}`)
    const d = new NodeDaemon(
      { identity: id, backend: opts.backend?.(id, i) ?? new InstantBackend(id.id), ledger: fixedLedger(ledger), ...(opts.limits ? { limits: opts.limits } : {}) },
      { transport: net.endpoint(id.id), clock, verification: 'inline' },
    )
    d.start()
    stops.push(() => d.stop())
    return d
  })
  return {
    clock,
    net,
    nodes,
    coordinator(label = 'gw') {
      const identity = key(label)
      // A restarted coordinator (same key) opens a new endpoint once its old one closed.
      const endpoint = net.endpoint(identity.id)
      const service = new CoordinatorService({ identity, ledger: fixedLedger(ledger), durations: DUR }, { transport: endpoint, clock, verification: 'inline' })
      service.start()
      stops.push(() => service.stop())
      return { service, endpoint, identity }
    },
  }
}

const held = (w: World) => w.nodes.map((d) => d.activeRounds)
const request = (n: number) => ({ messages: [{ role: 'user' as const, content: 'What is 6 × 7?' }], minMembers: Math.min(3, n), maxMembers: n, joinTarget: n })

const silent = new WeakMap<MemoryNetwork, Map<string, Transport>>()
/** A coordinator that publishes a Query and then says nothing more (it crashed, or never meant to). */
function silentQuery(w: World, label: string, seq: number, durations: PhaseDurations = DUR, at = w.clock.now()) {
  const identity = key(label)
  const eps = silent.get(w.net) ?? new Map<string, Transport>()
  silent.set(w.net, eps)
  const ep = eps.get(label) ?? w.net.endpoint(identity.id)
  eps.set(label, ep)
  const { round, effects } = CoordinatorRound.start({ identity, ledger }, { ...request(w.nodes.length), coordSeq: seq, durations }, hashParts('r0', label, String(seq)), at)
  for (const e of effects) if (e.kind === 'broadcast') void ep.publish(QUERY_TOPIC, e.msg.wire)
  return { round, ep }
}

describe('NodeDaemon: every round ends by its deadlines', () => {
  it('leaves a round whose coordinator goes silent after the Query, at the join deadline plus the grace', async () => {
    const w = world(3)
    const { round } = silentQuery(w, 'mute', 1)
    await settle()
    expect(held(w)).toEqual([1, 1, 1])
    w.clock.advanceTo(round.deadlines.join + DEFAULT_GRACE_MS - 1)
    expect(held(w)).toEqual([1, 1, 1])
    w.clock.advanceTo(round.deadlines.join + DEFAULT_GRACE_MS)
    expect(held(w)).toEqual([0, 0, 0])
    expect(w.nodes[0]!.recentEnds.at(-1)).toMatchObject({ reason: 'censored' })
    expect(w.clock.pending).toBe(0)
  })

  it.each(['committing', 'revealing', 'verdictCommitting', 'verdictRevealing'] as const)(
    'leaves a round whose coordinator crashes when it enters %s, by the last deadline plus the grace',
    async (phase) => {
      const w = world(4)
      const { service, endpoint } = w.coordinator()
      // Its own deadlines still close its round; the nodes never hear another word from it.
      void service.ask(request(4), { onPhase: (p) => void (p === phase && endpoint.close()) }).catch(() => {})
      await settle()
      expect(Math.max(...held(w))).toBe(1)
      w.clock.advance(LAST + DEFAULT_GRACE_MS)
      await settle()
      expect(held(w)).toEqual([0, 0, 0, 0])
      for (const d of w.nodes) expect(['dropped', 'no-result', 'censored']).toContain(d.recentEnds.at(-1)!.reason)
    },
  )

  it('hears an unranked round end: the answering members leave on the Result, a member whose model hangs is dropped and its call aborted', async () => {
    const aborted: boolean[] = []
    const hang: ModelBackend = {
      name: 'hangs',
      answer: (_m, o) =>
        new Promise((_, reject) =>
          o?.signal?.addEventListener('abort', () => {
            aborted.push(true)
            reject(new Error('aborted'))
          }),
        ),
      judge: async (): Promise<JudgeReply> => ({ verdict: 'U' }),
    }
    const w = world(3, { backend: (id, i) => (i === 2 ? hang : new InstantBackend(id.id)) })
    const { service } = w.coordinator()
    const asked = service.ask(request(3))
    await settle()
    w.clock.advance(DUR.join + DUR.commit) // the commit deadline: two answers are sealed, the third is not
    await settle()
    const res = await asked
    expect(res.outcome.ranked).toBe(false)
    expect(held(w)).toEqual([0, 0, 0])
    expect(w.nodes.slice(0, 2).map((d) => d.recentEnds.at(-1)!.reason)).toEqual(['done', 'done'])
    expect(w.nodes[2]!.recentEnds.at(-1)).toMatchObject({ reason: 'dropped' })
    expect(aborted).toEqual([true])
  })

  it('leaves at once when the coordinator abandons a round (its caller went away)', async () => {
    const never: ModelBackend = { name: 'slow', answer: () => new Promise(() => {}), judge: async () => ({ verdict: 'U' }) }
    const w = world(3, { backend: () => never })
    const { service } = w.coordinator()
    const cancel = new AbortController()
    const asked = service.ask(request(3), { signal: cancel.signal })
    await settle()
    expect(held(w)).toEqual([1, 1, 1])
    cancel.abort()
    await expect(asked).rejects.toBeInstanceOf(RoundFailedError)
    await settle()
    expect(held(w)).toEqual([0, 0, 0])
    expect(w.nodes.map((d) => d.recentEnds.at(-1)!.reason)).toEqual(['abandoned', 'abandoned', 'abandoned'])
  })

  it('drops a restarted coordinator’s old rounds as soon as its first new Query says where it restarted', async () => {
    const never: ModelBackend = { name: 'slow', answer: () => new Promise(() => {}), judge: async () => ({ verdict: 'U' }) }
    let slow = true
    const w = world(3, { backend: (id) => ({ name: 'switch', answer: (m, o) => (slow ? never.answer(m, o) : new InstantBackend(id.id).answer(m)), judge: async () => ({ verdict: 'A' }) }), limits: { perCoordinator: 1 } })
    const first = w.coordinator()
    void first.service.ask(request(3)).catch(() => {})
    await settle()
    expect(held(w)).toEqual([1, 1, 1])
    // The gateway dies (no RoundEnded: killed) and comes back with the same key.
    await first.endpoint.close()
    w.clock.advance(10)
    slow = false
    const second = w.coordinator()
    const asked = second.service.ask(request(3))
    await settle()
    expect((await asked).outcome.ranked).toBe(true)
    expect(w.nodes.map((d) => d.ended.get('superseded'))).toEqual([1, 1, 1])
  })
})

describe('NodeDaemon: a stranger cannot hold a node', () => {
  it('twenty Queries from an unknown key that never seals take at most its per-gateway share, for seconds, and a real round still runs', async () => {
    const w = world(3)
    for (let s = 1; s <= 20; s++) silentQuery(w, 'stranger', s)
    await settle()
    expect(held(w)).toEqual([8, 8, 8])
    expect(w.nodes[0]!.declined.get('coordinator')).toBe(12)
    const { service } = w.coordinator()
    const asked = service.ask(request(3))
    await settle()
    expect((await asked).outcome.ranked).toBe(true)
    w.clock.advance(DUR.join + DEFAULT_GRACE_MS)
    expect(held(w)).toEqual([0, 0, 0])
  })

  it('declines Queries past its horizon, with a long join window, already expired, or from a gateway not on its list', async () => {
    const w = world(3, { limits: { horizonMs: 60_000 } })
    silentQuery(w, 'far', 1, { ...DUR, commit: 120_000 })
    silentQuery(w, 'slow-join', 1, { ...DUR, join: 40_000 })
    silentQuery(w, 'late', 1, DUR, w.clock.now() - 5_000)
    await settle()
    expect(held(w)).toEqual([0, 0, 0])
    expect(Object.fromEntries(w.nodes[0]!.declined)).toEqual({ horizon: 2 })
    // A Query past its join deadline is not even delivered: the gossip validator ignores it.
    expect(w.nodes[0]!.intake.rejections.get('EXPIRED')).toBe(1)

    const listed = world(1, { limits: { gateways: new Set([key('friend').id]) } })
    silentQuery(listed, 'stranger', 1)
    silentQuery(listed, 'friend', 1)
    await settle()
    expect(listed.nodes[0]!.activeRounds).toBe(1)
    expect(listed.nodes[0]!.declined.get('notAllowed')).toBe(1)
  })

  it('a replayed Query is not a second round, and a forged one is rejected before it is delivered', async () => {
    const w = world(1)
    const { round, ep } = silentQuery(w, 'gw', 1)
    await settle()
    await ep.publish(QUERY_TOPIC, round.query.wire)
    const forged = Buffer.from(round.query.wire.toString().replace('What is 6', 'What is 9'))
    await ep.publish(QUERY_TOPIC, forged)
    await settle()
    expect(w.nodes[0]!.activeRounds).toBe(1)
    expect(w.nodes[0]!.intake.rejections.get('REPLAY')).toBe(1)
    expect(w.nodes[0]!.intake.rejections.get('BAD_SIGNATURE')).toBe(1)
    // The forged copy cost its sender a penalty at the transport (gossip validators, peer scoring).
    expect(w.net.penalties.get(key('gw').id)).toBe(1)
  })

  it('contains a bug in its model adapter (a synchronous throw): counted, not a crash, and the next round runs', async () => {
    let broken = true
    const w = world(3, {
      backend: (id) => ({
        name: 'buggy',
        answer: (m) => {
          if (broken) throw new TypeError('adapter bug')
          return new InstantBackend(id.id).answer(m)
        },
        judge: async () => ({ verdict: 'A' }),
      }),
    })
    const { service } = w.coordinator()
    const first = service.ask(request(3)).catch((e: Error) => e)
    await settle()
    expect(w.nodes.map((d) => d.intake.bugs)).toEqual([1, 1, 1])
    w.clock.advance(LAST + DEFAULT_GRACE_MS)
    await settle()
    expect(await first).toBeInstanceOf(RoundFailedError)
    broken = false
    const second = service.ask(request(3))
    await settle()
    expect((await second).outcome.ranked).toBe(true)
  })
})

describe('what a node reports about itself', () => {
  it('gossips its model, capacity and declared domains, signed, and the gateway’s directory shows them', async () => {
    const clock = new ManualClock()
    const net = new MemoryNetwork()
    const id = key('reporter')
    const daemon = new NodeDaemon({ identity: id, backend: new InstantBackend(id.id), ledger: fixedLedger(ledger), domains: ['math', 'code'] }, { transport: net.endpoint(id.id), clock, verification: 'inline' })
    const gateway = net.endpoint(key('gw').id)
    const directory = new NodeDirectory(gateway, clock, { verification: 'inline' })
    directory.start()
    const reporter = new StatusReporter({ identity: id, transport: net.endpoint(`${id.id}-status`), clock, status: () => daemon.status('qwen3-1.7b') })
    reporter.start()
    stops.push(async () => {
      reporter.stop()
      directory.stop()
    })
    await settle()
    const report = directory.get(id.id)
    expect(report?.status).toMatchObject({ backend: 'qwen3-1.7b', domains: ['math', 'code'], active: 0 })
    // A node that declares no domains says nothing about them (it joins every round).
    const plain = new NodeDaemon({ identity: key('plain'), backend: new InstantBackend('p'), ledger: fixedLedger(ledger) }, { transport: net.endpoint(key('plain').id), clock })
    expect(plain.status('m')).not.toHaveProperty('domains')
  })
})
