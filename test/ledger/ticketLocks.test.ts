import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { hashParts } from '../../src/crypto/hash.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { signBeaconRequest } from '../../src/ledger/beaconRequest.js'
import { HttpLedgerClient } from '../../src/ledger/httpLedgerClient.js'
import { LocalLedgerClient } from '../../src/ledger/localClient.js'
import { createLedgerServer } from '../../src/ledger/ledgerServer.js'
import { signRequest } from '../../src/ledger/requests.js'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import { verifyLedger } from '../../src/ledger/verifyLedger.js'
import { type Signed, signEnvelope } from '../../src/protocol/envelope.js'
import { MAX_JOINS } from '../../src/protocol/limits.js'
import { CURRENT_RULES, RULES_VERSIONS } from '../../src/protocol/rulesVersions.js'
import { CoordinatorRound } from '../../src/round/coordinator.js'
import { verifyOpened } from '../../src/round/verify.js'
import { Harness, type HarnessOptions, ident } from '../round/harness.js'
import { GATE_OFF, population } from './compliance.js'
import { ledgerCode } from './judges.js'

/**
 * Rules 3 on a real ledger: every joiner locks its ticket as its Join goes out, and the ledger,
 * not the coordinator, names the joiner set the members are drawn from.
 */
const operator = identityFromSeed(Buffer.from(hashParts('ticket-lock-operator'), 'hex'))
const T0 = 1_800_000_000_000

function setUp(opts: { path?: string; nodes?: number; stake?: bigint } = {}) {
  let t = T0
  const ledger = SqliteLedger.open({ path: opts.path ?? ':memory:', operator, now: () => t, rules: GATE_OFF })
  const { gateway, nodes } = population(ledger, opts.nodes ?? 7, opts.stake)
  const round = (o: Partial<HarnessOptions> = {}) =>
    new Harness({
      nodes: opts.nodes ?? 7,
      ledger: ledger.viewAt(ledger.head())!,
      now: t,
      rules: CURRENT_RULES,
      request: { fee: '1000000', ticket: '10000' },
      beacon: (phase, seal, query, joins) => ledger.beacon(signBeaconRequest(gateway, query, phase, seal, joins)),
      locks: (_node, j, query) => ledger.lockTicket({ query: query.env, join: j.env }).seq > 0,
      ...o,
    })
  return { ledger, gateway, nodes, round, advance: (ms: number) => void (t += ms), now: () => t }
}

/** A rules-3 Query of the population's gateway and a node's Join to it, signed. */
function joinOf(ledger: SqliteLedger, node: ReturnType<typeof ident>, opts: { n?: number; ticket?: string; rules?: typeof CURRENT_RULES; now?: number } = {}) {
  const { round } = CoordinatorRound.start(
    { identity: ident('coordinator'), ledger: ledger.viewAt(ledger.head())!, rules: opts.rules ?? CURRENT_RULES },
    { coordSeq: opts.n ?? 1, messages: [{ role: 'user', content: `q ${opts.n ?? 1}` }], minMembers: 3, maxMembers: 5, fee: '1000000', ticket: opts.ticket ?? '10000', durations: { join: 100, commit: 100, reveal: 100, verdictCommit: 100, verdictReveal: 100 } },
    hashParts('r0', String(opts.n ?? 1)),
    opts.now ?? T0,
  )
  const query = round.query
  const join = signJoin(node, query.env.round, query.env.body.ticket)
  return { query, join, request: { query: query.env, join: join.env } }
}

const signJoin = (node: ReturnType<typeof ident>, round: string, ticket: string): Signed<'Join'> => signEnvelope(node, { type: 'Join', round, seq: 1, body: { ticket } })

const codeOf = ledgerCode

describe('joins locked on the ledger (rules 3)', () => {
  it('a coordinator that drops Joins still seats them: the ledger names every locked joiner, and the round settles', () => {
    const { ledger, nodes, round } = setUp()
    try {
      const dropped = new Set([nodes[5]!.id, nodes[6]!.id])
      const h = round({ toCoordinator: (msg, from) => msg.env.type !== 'Join' || !dropped.has(from.id) })
      h.tick(h.round.deadlines.join)
      expect(h.outcome?.outcome.ranked).toBe(true)
      const v = verifyOpened(h.outcome!.transcript, { ledger: h.ledger, beacons: (r, p) => ledger.beaconOf(r, p) })
      expect(v.joiners).toEqual(expect.arrayContaining([...dropped]))
      // While the round runs, each member's ticket is locked: none of it may unbond.
      const stake = ledger.account(nodes[0]!.id)!.stake
      expect(codeOf(() => ledger.submit(signRequest(nodes[0]!, 2, { op: 'unbond', amount: stake.toString() })))).toBe('INSUFFICIENT_FUNDS')
      const receipt = ledger.settle(h.outcome!.transcript.map((m) => m.env))
      expect(receipt.round).toBe(h.round.roundId)
      // Settled: the locks are gone, and the whole stake may unbond again.
      ledger.submit(signRequest(nodes[0]!, 2, { op: 'unbond', amount: ledger.account(nodes[0]!.id)!.stake.toString() }))
    } finally {
      ledger.close()
    }
  })

  it("seats a joiner whose own lock is still on its way: the coordinator carries the Joins it holds, and the ledger locks them as the nodes' own", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-carried-'))
    const path = join(dir, 'ledger.sqlite')
    try {
      const { ledger, nodes, gateway, round } = setUp({ path })
      const slow = new Set([nodes[5]!.id, nodes[6]!.id])
      const ownLock = (node: { id: string }, j: Signed<'Join'>, query: Signed<'Query'>) => !slow.has(node.id) && ledger.lockTicket({ query: query.env, join: j.env }).seq > 0
      const h = round({ locks: ownLock })
      expect(h.outcome?.outcome.ranked).toBe(true)
      const v = verifyOpened(h.outcome!.transcript, { ledger: h.ledger, beacons: (r, p) => ledger.beaconOf(r, p) })
      expect(v.joiners).toEqual(expect.arrayContaining([...slow]))
      expect(v.joiners).toHaveLength(7)
      // The two carried locks are one entry, the last before the beacon that closes the joins.
      const entries = ledger.entries(1, 10_000)
      const members = entries.findIndex((e) => e.kind === 'beacon' && (JSON.parse(e.body) as { phase: string }).phase === 'members')
      const lastLocks = entries.slice(0, members).findLast((e) => e.kind === 'locks')!
      expect(new Set((JSON.parse(lastLocks.body) as { locks: { join: { from: string } }[] }).locks.map((l) => l.join.from))).toEqual(slow)
      ledger.settle(h.outcome!.transcript.map((m) => m.env))
      // Without the carried Joins, the slow two are left out.
      const bare = round({ request: { coordSeq: 2, fee: '1000000', ticket: '10000' }, locks: ownLock, beacon: (phase, seal, query) => ledger.beacon(signBeaconRequest(gateway, query, phase, seal)) })
      expect(verifyOpened(bare.outcome!.transcript, { ledger: bare.ledger, beacons: (r, p) => ledger.beaconOf(r, p) }).joiners).toHaveLength(5)
      ledger.close()
      expect((await verifyLedger(path)).settlements).toBe(1)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('locks only what a carried Join proves, checking no more signatures than the real joiners gave: a forged one refuses the request, and a malformed carry is refused', () => {
    const { ledger, nodes, gateway } = setUp({ nodes: 4 })
    try {
      const j = joinOf(ledger, nodes[0]!)
      const round = j.query.env.round
      const other = joinOf(ledger, nodes[1]!, { n: 2 })
      const good = nodes.slice(0, 3).map((n) => signJoin(n, round, '10000'))
      const unsigned = (env: object) => ({ ...env, sig: '00'.repeat(64) })
      const ask = (extra: object) => ({ ...signBeaconRequest(gateway, j.query, 'members', hashParts('x')), ...extra })
      const head = ledger.head()
      for (const bad of [{ joins: [] }, { joins: 'all' }, { joins: [null] }, { joins: Array.from({ length: MAX_JOINS + 1 }, () => good[0]!.env) }]) expect(codeOf(() => ledger.beacon(ask(bad)))).toBe('BAD_REQUEST')
      expect(codeOf(() => ledger.beacon({ ...signBeaconRequest(gateway, j.query, 'assignment', hashParts('x')), joins: [good[0]!.env] }))).toBe('BAD_REQUEST')
      // An eligible node's Join that no node signed: the coordinator carries what it did not check.
      expect(codeOf(() => ledger.beacon(ask({ joins: [...good.map((g) => g.env), unsigned(signJoin(nodes[3]!, round, '10000').env)] })))).toBe('BAD_REQUEST')
      expect(ledger.head()).toBe(head)
      // Joins of strangers (unsigned, thousands of them), of another round, and a good one repeated
      // are passed over without a signature check: had any been checked, the request would fail.
      const strangers = Array.from({ length: MAX_JOINS - 20 }, (_, i) => unsigned(signJoin(ident(`stranger ${i % 50}`), round, '10000').env))
      const carried = [...good.map((g) => g.env), ...Array.from({ length: 10 }, () => good[0]!.env), other.join.env, ...strangers]
      const issued = ledger.beacon(ask({ joins: carried }))
      expect((issued.joins as { from: string }[]).map((e) => e.from).sort()).toEqual(good.map((g) => g.env.from).sort())
      // The other round's Join was not locked there either.
      expect(codeOf(() => ledger.lockTicket(other.request))).toBe('accepted')
    } finally {
      ledger.close()
    }
  })

  it('a coordinator that seals another set than the ledger locked gets no members beacon it can use', () => {
    const { ledger, round } = setUp()
    try {
      // The ledger's beacon follows its own set; handed one that follows the coordinator's, the round stops.
      const h = round({ beacon: (phase, seal, query) => ({ ...ledger.beacon(signBeaconRequest(ident('coordinator'), query, phase, seal)), joins: [] }) as never })
      expect(h.failure).toMatchObject({ code: 'NO_BEACON' })
    } finally {
      ledger.close()
    }
  })

  it('refuses locks it must not take, changing nothing', () => {
    const { ledger, nodes, advance } = setUp({ nodes: 4 })
    try {
      const head = ledger.head()
      const stranger = ident('a stranger')
      const cases: [string, unknown][] = [
        // rules 2 rounds lock nothing; a free ticket holds seats for nothing
        ['BAD_REQUEST', joinOf(ledger, nodes[0]!, { rules: RULES_VERSIONS.get(2)!.rules }).request],
        ['BAD_REQUEST', joinOf(ledger, nodes[0]!, { ticket: '0' }).request],
        // a node with no stake, a forged Join, a Join for another round, a made-up shape
        ['INELIGIBLE', joinOf(ledger, stranger).request],
        ['BAD_REQUEST', { ...joinOf(ledger, nodes[0]!).request, join: { ...(joinOf(ledger, nodes[0]!).join.env as object), sig: '00'.repeat(64) } }],
        ['BAD_REQUEST', { query: joinOf(ledger, nodes[0]!, { n: 2 }).query.env, join: joinOf(ledger, nodes[0]!).join.env }],
        ['BAD_REQUEST', { join: joinOf(ledger, nodes[0]!).join.env }],
        ['BAD_REQUEST', null],
      ]
      for (const [code, request] of cases) expect(codeOf(() => ledger.lockTicket(request))).toBe(code)
      expect(ledger.head()).toBe(head)
      // Too late: the join deadline has passed by the ledger's clock.
      const late = joinOf(ledger, nodes[0]!, { n: 3 })
      advance(101)
      expect(codeOf(() => ledger.lockTicket(late.request))).toBe('CLOSED')
    } finally {
      ledger.close()
    }
  })

  it('locks a ticket once per round from the free stake, and no more rounds at once than the stake covers', () => {
    // Stake 2 000 000, tickets of 1 000 000: two rounds at once, not three.
    const { ledger, nodes } = setUp({ nodes: 4 })
    try {
      // Three rounds' Queries, named at one head.
      const [a, b, c] = [1, 2, 3].map((n) => joinOf(ledger, nodes[0]!, { n, ticket: '1000000' }).request)
      const first = ledger.lockTicket(a)
      const head = ledger.head()
      expect(ledger.lockTicket(a)).toEqual(first)
      // Asked again, even unsigned, it is the lock taken: nothing is checked, written or told that the log does not say.
      expect(ledger.lockTicket({ ...a!, join: { ...(a!.join as object), sig: '00'.repeat(64) } })).toEqual(first)
      expect(ledger.head()).toBe(head)
      ledger.lockTicket(b)
      expect(codeOf(() => ledger.lockTicket(c))).toBe('INSUFFICIENT_FUNDS')
    } finally {
      ledger.close()
    }
  })

  it('unlocks a round whose coordinator never closed its joins, at the join deadline and the grace, with no fee owed', () => {
    const { ledger, nodes, advance, gateway } = setUp({ nodes: 4 })
    try {
      const deposit = ledger.account(gateway.id)!.stake
      const j = joinOf(ledger, nodes[0]!, { ticket: '2000000' })
      ledger.lockTicket(j.request)
      expect(codeOf(() => ledger.lockTicket(joinOf(ledger, nodes[0]!, { n: 2, ticket: '1' }).request))).toBe('INSUFFICIENT_FUNDS')
      advance(100 + CURRENT_RULES.sealGraceMs + 1)
      // Asked after the grace, the members beacon is refused: the joins closed without it.
      expect(codeOf(() => ledger.beacon(signBeaconRequest(gateway, j.query, 'members', hashParts('x'))))).toBe('CLOSED')
      expect(ledger.entries(1, 1_000).filter((e) => e.kind === 'expire')).toHaveLength(1)
      expect(ledger.account(gateway.id)!.stake).toBe(deposit)
      ledger.lockTicket(joinOf(ledger, nodes[0]!, { n: 3, ticket: '2000000', now: T0 + 3_000 }).request)
    } finally {
      ledger.close()
    }
  })

  it('issues no members beacon before enough joiners locked, nor beyond what the deposit covers', () => {
    const { ledger, nodes, gateway } = setUp({ nodes: 4 })
    try {
      const j = joinOf(ledger, nodes[0]!)
      ledger.lockTicket(j.request)
      ledger.lockTicket({ query: j.query.env, join: signJoin(nodes[1]!, j.query.env.round, '10000').env })
      expect(() => ledger.beacon(signBeaconRequest(gateway, j.query, 'members', hashParts('x')))).toThrow(/2 joiner\(s\) locked a ticket; the round needs 3/)
      // A gateway whose deposit covers one open round's fee opens one.
      ledger.submit(signRequest(gateway, 2, { op: 'unbond', amount: (ledger.account(gateway.id)!.stake - 1_000_000n).toString() }))
      const open = (n: number) => {
        const q = joinOf(ledger, nodes[0]!, { n })
        for (const node of nodes.slice(0, 3)) ledger.lockTicket({ query: q.query.env, join: signJoin(node, q.query.env.round, '10000').env })
        return codeOf(() => ledger.beacon(signBeaconRequest(gateway, q.query, 'members', hashParts('x'))))
      }
      expect(open(10)).toBe('accepted')
      expect(open(11)).toBe('INSUFFICIENT_FUNDS')
    } finally {
      ledger.close()
    }
  })

  it('replays to the same state: locks, closes, releases and settlements', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-locks-'))
    const path = join(dir, 'ledger.sqlite')
    try {
      const { ledger, round } = setUp({ path, nodes: 9 })
      // Nine joiners, seven seats: the two the beacon does not seat unlock at once.
      const h = round({ request: { fee: '1000000', ticket: '10000', maxMembers: 7, joinTarget: 9 } })
      expect(h.outcome?.outcome.ranked).toBe(true)
      ledger.settle(h.outcome!.transcript.map((m) => m.env))
      // And one still open when the log is replayed.
      round({ request: { coordSeq: 2, fee: '1000000', ticket: '10000', maxMembers: 7, joinTarget: 9 } })
      ledger.close()
      const v = await verifyLedger(path)
      expect(v.settlements).toBe(1)
      expect(v.entries).toBeGreaterThan(9 + 9 + 3)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('writes the locks that arrive together as one entry; a refused one fails alone', async () => {
    const { ledger, nodes } = setUp({ nodes: 4 })
    try {
      const client = new LocalLedgerClient(ledger)
      const j = joinOf(ledger, nodes[0]!)
      const head = ledger.head()
      const asked = [...nodes.map((n) => ({ query: j.query.env, join: signJoin(n, j.query.env.round, '10000').env })), joinOf(ledger, ident('nobody')).request]
      const results = await Promise.allSettled(asked.map((r) => client.lockTicket(r as never)))
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected'])
      expect((results[4] as PromiseRejectedResult).reason).toMatchObject({ code: 'INELIGIBLE' })
      const written = ledger.entries(1, 1_000).filter((e) => e.seq > Number(ledger.snapshotAt(head)!.seq))
      expect(written.map((e) => e.kind)).toEqual(['locks'])
      expect((JSON.parse(written[0]!.body) as { locks: unknown[] }).locks).toHaveLength(4)
    } finally {
      ledger.close()
    }
  })

  it('takes locks over HTTP', async () => {
    const { ledger, nodes } = setUp({ nodes: 4 })
    const app = createLedgerServer({ ledger })
    try {
      const client = new HttpLedgerClient(await app.listen({ host: '127.0.0.1', port: 0 }))
      const j = joinOf(ledger, nodes[0]!)
      const lock = await client.lockTicket(j.request)
      expect(lock).toMatchObject({ round: j.query.env.round, node: nodes[0]!.id })
      await expect(client.lockTicket(joinOf(ledger, ident('nobody')).request)).rejects.toMatchObject({ code: 'INELIGIBLE' })
    } finally {
      await app.close()
      ledger.close()
    }
  })
})
