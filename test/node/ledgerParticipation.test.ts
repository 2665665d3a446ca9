import { afterEach, describe, expect, it } from 'vitest'
import { createEmbeddedSwarm, type EmbeddedSwarm } from '../../src/cli/embeddedSwarm.js'
import { hashParts } from '../../src/crypto/hash.js'
import { type Identity, identityFromSeed } from '../../src/crypto/identity.js'
import { Paymaster } from '../../src/gateway/paymaster.js'
import { RoundFailedError } from '../../src/gateway/swarm.js'
import { LocalLedgerClient } from '../../src/ledger/localClient.js'
import { CachedLedger, type NetworkLedger } from '../../src/ledger/networkLedger.js'
import { signRequest } from '../../src/ledger/requests.js'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import { GATE_OFF } from '../ledger/compliance.js'
import type { CallOptions, ModelBackend } from '../../src/models/backend.js'
import { InstantBackend } from '../../src/models/instant.js'
import type { ChatMessage } from '../../src/protocol/messages.js'
import { signEnvelope } from '../../src/protocol/envelope.js'
import { CURRENT_RULES } from '../../src/protocol/rulesVersions.js'
import { CoordinatorRound } from '../../src/round/coordinator.js'

/**
 * Nodes on a real ledger decide from it whom to serve: only registered gateways, only fees that
 * meet their minimum, only as many rounds at once as the gateway's deposit covers, and only while
 * they are themselves staked. The gateway here has no paymaster, as a spammer would not: the
 * nodes' own checks are what is tested.
 */
const key = (label: string) => identityFromSeed(Buffer.from(hashParts('ledger-participation', label), 'hex'))
const operator = key('operator')
const gateway = key('gateway')
const nodes = Array.from({ length: 4 }, (_, i) => key(`node-${i}`))
const DUR = { join: 150, commit: 600, reveal: 600, verdictCommit: 600, verdictReveal: 600 }

/** Answers after `ms`, so rounds stay open while more Queries arrive. */
class SlowBackend extends InstantBackend {
  constructor(
    id: string,
    private readonly ms: number,
  ) {
    super(id)
  }
  override async answer(messages: readonly ChatMessage[], options: CallOptions = {}): Promise<string> {
    await new Promise((r) => setTimeout(r, this.ms))
    return super.answer(messages, options)
  }
}

let swarm: EmbeddedSwarm | undefined
let ledger: SqliteLedger | undefined
afterEach(async () => {
  await swarm?.stop()
  ledger?.close()
  swarm = undefined
})

function setUp(opts: { register?: boolean; deposit?: bigint; stake?: (i: number) => boolean; oldestRules?: number } = {}) {
  // The gateway here runs rules 1 (no beacons) unless a test gives it the ledger: these ledgers settle them.
  ledger = SqliteLedger.open({ path: ':memory:', operator, rules: { oldestRules: opts.oldestRules ?? 1, ...GATE_OFF } })
  const l = ledger
  const request = (who: Identity, nonce: number, body: Parameters<typeof signRequest>[2]) => l.submit(signRequest(who, nonce, body))
  if (opts.register ?? true) {
    request(gateway, 0, { op: 'register', kind: 'gateway' })
    l.credit(gateway.id, 1_000_000_000n)
    if ((opts.deposit ?? 0n) > 0n) request(gateway, 1, { op: 'stake', amount: String(opts.deposit) })
  }
  nodes.forEach((n, i) => {
    request(n, 0, { op: 'register', kind: 'node' })
    l.credit(n.id, 2_000_000n)
    if (opts.stake?.(i) ?? true) request(n, 1, { op: 'stake', amount: '1000000' })
  })
  return new LocalLedgerClient(l)
}

async function start(network: NetworkLedger, backend: (id: Identity, i: number) => ModelBackend = (id) => new InstantBackend(id.id), paymaster?: Paymaster) {
  swarm = createEmbeddedSwarm({
    nodes: nodes.length,
    backendFor: backend,
    ledger: network,
    durations: DUR,
    identities: { coordinator: gateway, node: (i) => nodes[i]! },
    ...(paymaster ? { paymaster } : {}),
  })
  return swarm
}

const declined = (s: EmbeddedSwarm, reason: string) => s.nodes.reduce((n, d) => n + (d.declined.get(reason as never) ?? 0), 0)

describe('nodes on a ledger', () => {
  it('do not serve a gateway the ledger does not know, nor ask the ledger about the heads it names', async () => {
    const client = setUp({ register: false })
    let lookups = 0
    const counting = Object.assign(Object.create(client) as LocalLedgerClient, {
      standingAt: (head: string, options?: { base?: string }) => {
        lookups++
        return client.standingAt(head, options)
      },
    })
    const network = await CachedLedger.connect(counting)
    lookups = 0
    // A stranger's Queries name made-up heads: nodes decline them before any lookup.
    const forged: NetworkLedger = { metered: true, latest: () => ({ ...network.latest(), head: () => 'ab'.repeat(32) }), at: (h) => network.at(h) }
    swarm = createEmbeddedSwarm({ nodes: nodes.length, backendFor: (id) => new InstantBackend(id.id), ledger: forged, durations: DUR, identities: { coordinator: gateway, node: (i) => nodes[i]! } })
    for (const n of swarm.nodes) (n as unknown as { init: { ledger: NetworkLedger } }).init.ledger = network
    await expect(swarm.ask('who pays?', { fee: '10000', ticket: '0' })).rejects.toMatchObject({ code: 'NO_MEMBERS' })
    expect(declined(swarm, 'unregistered')).toBe(nodes.length)
    expect(lookups).toBe(0)
  })

  it('refuse rounds by rules older than the ledger still settles (a coordinator downgrading to grindable ones)', async () => {
    const client = setUp({ deposit: 1_000_000n, oldestRules: 3 })
    // Without the ledger's beacons the gateway runs rules 1: nodes decline, unpaid work.
    const s = await start(await CachedLedger.connect(client))
    await expect(s.ask('old rules', { fee: '10000', ticket: '0' })).rejects.toMatchObject({ code: 'NO_MEMBERS' })
    expect(declined(s, 'rules')).toBe(nodes.length)
    await s.stop()
    // With them (rules 3 on: beacons, and tickets locked on the ledger; today rules 4) the same nodes serve it.
    swarm = createEmbeddedSwarm({ nodes: nodes.length, backendFor: (id) => new InstantBackend(id.id), ledger: await CachedLedger.connect(client), client, durations: DUR, identities: { coordinator: gateway, node: (i) => nodes[i]! } })
    const r = await swarm.ask('new rules', { fee: '10000', ticket: '10000' })
    expect(r.transcript[0]!.env.body).toMatchObject({ rules: { version: CURRENT_RULES.version } })
  })

  it('send their Join and their ticket lock at once: one whose own lock never reached the ledger still sits, one the ledger refuses is left out and told why', async () => {
    const client = setUp({ deposit: 10_000_000n })
    const network = await CachedLedger.connect(client)
    // Half of node 1's stake is locked in another round of this gateway, which its own count of rounds held cannot see.
    const other = CoordinatorRound.start(
      { identity: gateway, ledger: network.latest(), rules: CURRENT_RULES },
      { coordSeq: 99, messages: [{ role: 'user', content: 'elsewhere' }], minMembers: 3, maxMembers: 4, fee: '10000', ticket: '500000', durations: { ...DUR, join: 60_000 } },
      hashParts('elsewhere'),
      Date.now(),
    ).round.query
    ledger!.lockTicket({ query: other.env, join: signEnvelope(nodes[1]!, { type: 'Join', round: other.env.round, seq: 1, body: { ticket: '500000' } }).env })
    swarm = createEmbeddedSwarm({ nodes: nodes.length, backendFor: (id) => new InstantBackend(id.id), ledger: network, client, durations: DUR, identities: { coordinator: gateway, node: (i) => nodes[i]! } })
    // Node 0's own locks are lost on the way: its coordinator carries its Join to the ledger all the same.
    const lost: NetworkLedger = { metered: true, latest: () => network.latest(), at: (h) => network.at(h), forQuery: (now) => network.forQuery(now), lockTicket: () => Promise.reject(new Error('the ledger is unreachable')) }
    ;(swarm.nodes[0] as unknown as { init: { ledger: NetworkLedger } }).init.ledger = lost
    const r = await swarm.ask('who sits?', { fee: '10000', ticket: '600000' })
    expect(r.outcome.scores.map((x) => x.node).sort()).toEqual([nodes[0]!, nodes[2]!, nodes[3]!].map((n) => n.id).sort())
    expect(swarm.nodes[1]!.ended.get('unlocked')).toBe(1)
    // Its own lock was refused for its stake, or came after the joins closed (the coordinator's copy, refused for its stake, closed them).
    expect(swarm.nodes[1]!.recentEnds.at(-1)?.detail).toMatch(/^the ledger did not lock the ticket: .*(free stake 500000 does not cover the ticket 600000|joins are closed)/)
  })

  it('follow the ticket price and oldest rules governance has in force: a gateway offering other terms is not served', async () => {
    const s = await start(await CachedLedger.connect(setUp({ deposit: 1_000_000n })))
    for (const n of s.nodes) n.govern({ ticket: 20_000n, oldestRules: 0 })
    await expect(s.ask('my own ticket', { fee: '10000', ticket: '10000' })).rejects.toMatchObject({ code: 'NO_MEMBERS' })
    expect(declined(s, 'policy')).toBe(nodes.length)
    const r = await s.ask('the voted ticket', { fee: '10000', ticket: '20000' })
    expect(r.transcript[0]!.env.body).toMatchObject({ ticket: '20000' })
    // A voted oldest live version above the gateway's rules (1 here, without the ledger's beacons).
    for (const n of s.nodes) n.govern({ ticket: 20_000n, oldestRules: 3 })
    await expect(s.ask('old rules', { fee: '10000', ticket: '20000' })).rejects.toMatchObject({ code: 'NO_MEMBERS' })
    expect(declined(s, 'rules')).toBe(nodes.length)
    // A voted judge share cap that the Query's rules version does not have.
    for (const n of s.nodes) n.govern({ ticket: 20_000n, judgeShareCapBp: 3_000 })
    await expect(s.ask('other cap', { fee: '10000', ticket: '20000' })).rejects.toMatchObject({ code: 'NO_MEMBERS' })
    expect(declined(s, 'rules')).toBe(2 * nodes.length)
    for (const n of s.nodes) n.govern({ ticket: 20_000n, judgeShareCapBp: 2_500 })
    expect((await s.ask('the voted cap', { fee: '10000', ticket: '20000' })).transcript[0]!.env.body).toMatchObject({ rules: { maxJudgeShareBp: 2_500 } })
  })

  it('refuse a fee below their minimum', async () => {
    const s = await start(await CachedLedger.connect(setUp({ deposit: 1_000_000n })))
    await expect(s.ask('cheap', { fee: '10', ticket: '0' })).rejects.toMatchObject({ code: 'NO_MEMBERS' })
    expect(declined(s, 'fee')).toBe(nodes.length)
    const r = await s.ask('fair', { fee: '10000', ticket: '0' })
    expect(r.outcome.scores.length).toBe(nodes.length)
  })

  it('hold no more of a gateway’s rounds than its deposit covers: Query spam beyond it is refused', async () => {
    // A deposit for two rounds at the fee; five Queries at once, each held open by slow answers.
    const s = await start(await CachedLedger.connect(setUp({ deposit: 20_000n })), (id) => new SlowBackend(id.id, 300))
    // A moment apart, so every node sees them in the same order (see the ticket test).
    const asks: Promise<unknown>[] = []
    for (let i = 0; i < 5; i++) {
      asks.push(s.ask(`spam ${i}`, { fee: '10000', ticket: '0' }))
      await new Promise((r) => setTimeout(r, 20))
    }
    const results = await Promise.allSettled(asks)
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2)
    expect(declined(s, 'deposit')).toBe(3 * nodes.length)
    for (const n of s.nodes) expect(n.declined.get('deposit')).toBe(3)
  })

  it('stay out while not staked, and judge with the weight the ledger gives them', async () => {
    const s = await start(await CachedLedger.connect(setUp({ deposit: 1_000_000n, stake: (i) => i !== 3 })))
    const r = await s.ask('who is in?', { fee: '10000', ticket: '0' })
    expect(r.outcome.scores.map((x) => x.node).sort()).toEqual(nodes.slice(0, 3).map((n) => n.id).sort())
    expect(s.nodes[3]!.declined.get('ineligible')).toBe(1)
  })

  it('lock a ticket per round from their stake: no more rounds at once than their stake covers', async () => {
    // Staked 1 unit; tickets of 0.6: one round at a time.
    const s = await start(await CachedLedger.connect(setUp({ deposit: 1_000_000n })), (id) => new SlowBackend(id.id, 300))
    // The second Query follows the first by a moment: had each node seen them in its own order,
    // half would have joined each and neither round would have had its three members.
    const first = s.ask('first', { fee: '10000', ticket: '600000' })
    await new Promise((r) => setTimeout(r, 30))
    const results = await Promise.allSettled([first, s.ask('second', { fee: '10000', ticket: '600000' })])
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
    for (const n of s.nodes) expect(n.declined.get('stake')).toBe(1)
  })

  it('honour a Query’s minimum reputation (new nodes stand at 50 %)', async () => {
    const s = await start(await CachedLedger.connect(setUp({ deposit: 1_000_000n })))
    await expect(s.ask('veterans only', { fee: '10000', ticket: '0', minReputation: 6_000 })).rejects.toMatchObject({ code: 'NO_MEMBERS' })
    expect(declined(s, 'ineligible')).toBe(nodes.length)
    const r = await s.ask('half will do', { fee: '10000', ticket: '0', minReputation: 5_000 })
    expect(r.outcome.scores.length).toBe(nodes.length)
  })

  it('refuse a Query that names a head the ledger never had', async () => {
    const client = setUp({ deposit: 1_000_000n })
    const real = await CachedLedger.connect(client)
    // A coordinator that names a made-up head (the nodes fetch it and are told it never existed).
    const forged: NetworkLedger = { metered: true, latest: () => ({ ...real.latest(), head: () => 'ab'.repeat(32) }), at: (h) => real.at(h) }
    swarm = createEmbeddedSwarm({ nodes: nodes.length, backendFor: (id) => new InstantBackend(id.id), ledger: forged, durations: DUR, identities: { coordinator: gateway, node: (i) => nodes[i]! } })
    for (const n of swarm.nodes) (n as unknown as { init: { ledger: NetworkLedger } }).init.ledger = real
    await expect(swarm.ask('which head?', { fee: '10000', ticket: '0' })).rejects.toMatchObject({ code: 'NO_MEMBERS' })
    expect(declined(swarm, 'ledger')).toBe(nodes.length)
  })

  it('an honest gateway refuses rounds its deposit does not cover before publishing them, and settles the ones it runs', async () => {
    const client = setUp({ deposit: 20_000n })
    const network = await CachedLedger.connect(client)
    const paymaster = new Paymaster({ identity: gateway, ledger: network, client, terms: { fee: 10_000n, ticket: 0n } })
    const s = await start(network, (id) => new SlowBackend(id.id, 200), paymaster)
    const results = await Promise.allSettled(Array.from({ length: 3 }, (_, i) => s.ask(`paid ${i}`)))
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as RoundFailedError)
    expect(refused.map((e) => e.code)).toEqual(['NO_DEPOSIT'])
    for (const r of results) if (r.status === 'fulfilled') expect(await r.value.settlement).toMatchObject({ pool: expect.any(BigInt) })
    expect(declined(s, 'deposit')).toBe(0)
    // Both settled rounds' fees came out of the deposit: it is spent, and the next round is refused.
    expect(ledger!.account(gateway.id)!.stake).toBe(0n)
    await expect(s.ask('one more')).rejects.toMatchObject({ code: 'NO_DEPOSIT' })
  })
})

describe('the head a gateway’s Queries name', () => {
  it('stays the same for about a second while the ledger moves on, so members look each head up once', async () => {
    const client = setUp({ deposit: 1_000_000n })
    let lookups = 0
    const counting = Object.assign(Object.create(client) as LocalLedgerClient, {
      standingAt: (head: string, options?: { base?: string }) => {
        lookups++
        return client.standingAt(head, options)
      },
    })
    const gatewaySide = await CachedLedger.connect(client)
    const first = gatewaySide.forQuery(1_000).head()
    // The ledger moves (every round writes), and the gateway reads its newest head.
    ledger!.credit(nodes[0]!.id, 1n)
    await gatewaySide.refresh()
    expect(gatewaySide.latest().head()).not.toBe(first)
    expect(gatewaySide.forQuery(1_500).head()).toBe(first)
    // A member meets that head in every Query of that second: one lookup.
    const member = await CachedLedger.connect(counting)
    lookups = 0
    for (let i = 0; i < 5; i++) await member.at(gatewaySide.forQuery(1_500 + i).head())
    expect(lookups).toBe(1)
    // A second on, the newest.
    expect(gatewaySide.forQuery(2_000).head()).toBe(gatewaySide.latest().head())
  })
})
