import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashParts } from '../../src/crypto/hash.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { BeaconChain } from '../../src/ledger/beaconChain.js'
import { beaconStep } from '../../src/round/beacons.js'
import { type BeaconRequest, signBeaconRequest } from '../../src/ledger/beaconRequest.js'
import { HttpLedgerClient } from '../../src/ledger/httpLedgerClient.js'
import { createLedgerServer } from '../../src/ledger/ledgerServer.js'
import { signEntry } from '../../src/ledger/logEntry.js'
import { signRequest } from '../../src/ledger/requests.js'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import { verifyLedger } from '../../src/ledger/verifyLedger.js'
import type { Signed } from '../../src/protocol/envelope.js'
import { CoordinatorRound } from '../../src/round/coordinator.js'
import { genesisLedgerView } from '../../src/round/ledgerView.js'
import { Harness, type HarnessOptions, ident } from '../round/harness.js'
import { CURRENT_RULES } from '../../src/protocol/rulesVersions.js'
import { population } from './compliance.js'
import { ledgerCode } from './judges.js'

const operator = identityFromSeed(Buffer.from(hashParts('beacon-test-operator'), 'hex'))
const gateway = ident('beacon-gateway')
const stranger = ident('beacon-stranger')
const seal = (label: string) => hashParts('a seal', label)

/** A signed Query of `coordinator` (round `n`): what a beacon request carries. */
function queryOf(coordinator = gateway, n = 1): Signed<'Query'> {
  const { round } = CoordinatorRound.start(
    { identity: coordinator, ledger: genesisLedgerView() },
    { coordSeq: n, messages: [{ role: 'user', content: `question ${n}` }], minMembers: 3, maxMembers: 5, fee: '1000', durations: { join: 100, commit: 100, reveal: 100, verdictCommit: 100, verdictReveal: 100 } },
    hashParts('r0', String(n)),
    1_000,
  )
  return round.query
}

const codeOf = ledgerCode

function ledgerWithGateway(path = ':memory:', beaconChainLength = 512) {
  const ledger = SqliteLedger.open({ path, operator, rules: { beaconChainLength } })
  ledger.submit(signRequest(gateway, 0, { op: 'register', kind: 'gateway' }))
  // A round the ledger holds open owes its fee from the deposit.
  ledger.credit(gateway.id, 1_000_000_000n)
  ledger.submit(signRequest(gateway, 1, { op: 'stake', amount: '1000000000' }))
  return ledger
}

describe('the beacon chain', () => {
  it('issues values that each hash to the one before, back to the published tip, whatever order they are read in', () => {
    const chain = new BeaconChain('ab'.repeat(32), 1_024)
    let prev = chain.tip
    const inOrder: string[] = []
    for (let k = 1; k <= 1_024; k++) {
      const v = chain.value(k)
      expect(beaconStep(v)).toBe(prev)
      inOrder.push(v)
      prev = v
    }
    // Random access (across segments, backwards) gives the same values.
    for (const k of [1_024, 1, 513, 256, 257, 700]) expect(chain.value(k)).toBe(inOrder[k - 1])
    expect(() => chain.value(0)).toThrow(RangeError)
    expect(() => chain.value(1_025)).toThrow(RangeError)
    // Another seed, another chain.
    expect(new BeaconChain('cd'.repeat(32), 1_024).tip).not.toBe(chain.tip)
  })
})

describe('beacons on the SQLite ledger', () => {
  it('issues one beacon per round and phase to the round’s coordinator; asking again returns the first', () => {
    const ledger = ledgerWithGateway()
    try {
      const q = queryOf()
      const first = ledger.beacon(signBeaconRequest(gateway, q, 'members', seal('joins')))
      expect(first).toMatchObject({ round: q.env.round, phase: 'members', seal: seal('joins'), coordinator: gateway.id, chain: 1, index: 1 })
      const head = ledger.head()
      // A second ask, even for another seal (a re-roll), is the first beacon, and writes nothing.
      expect(ledger.beacon(signBeaconRequest(gateway, q, 'members', seal('other joins')))).toEqual(first)
      expect(ledger.head()).toBe(head)
      const second = ledger.beacon(signBeaconRequest(gateway, q, 'assignment', seal('commits')))
      expect(second.index).toBe(2)
      expect(beaconStep(second.value)).toBe(first.value)
      expect(ledger.beaconOf(q.env.round, 'assignment')).toEqual(second)
      // The standing at each head carries the newest beacon by then (members check later ones against it).
      expect(ledger.snapshotAt(ledger.head())!.beacon).toEqual([second.chain, second.index, second.value])
      expect(ledger.snapshotAt(head)!.beacon).toEqual([first.chain, first.index, first.value])
      expect(ledger.viewAt(ledger.head())!.beaconAtHead!()).toEqual({ chain: second.chain, index: second.index, value: second.value })
      expect(ledger.beaconOf(q.env.round.replace(/^./, '0'), 'assignment')).toBeUndefined()
    } finally {
      ledger.close()
    }
  })

  it('refuses a request from an unregistered coordinator, one not signed by the Query’s signer, and malformed ones, writing nothing', () => {
    const ledger = ledgerWithGateway()
    try {
      const head = ledger.head()
      expect(codeOf(() => ledger.beacon(signBeaconRequest(stranger, queryOf(stranger), 'members', seal('x'))))).toBe('NOT_A_GATEWAY')
      // The gateway's Query, the stranger's signature.
      expect(codeOf(() => ledger.beacon(signBeaconRequest(stranger, queryOf(), 'members', seal('x'))))).toBe('BAD_SIGNATURE')
      const good = signBeaconRequest(gateway, queryOf(), 'members', seal('x'))
      const bad: unknown[] = [
        { ...good, phase: 'judging' },
        { ...good, seal: 'xyz' },
        { ...good, extra: 1 },
        { ...good, round: queryOf(gateway, 2).env.round },
        { ...good, query: { ...(good.query as object), sig: '00'.repeat(64) } },
        null,
        'beacon please',
      ]
      for (const b of bad) expect(codeOf(() => ledger.beacon(b))).toBe('BAD_REQUEST')
      expect(ledger.head()).toBe(head)
    } finally {
      ledger.close()
    }
  })

  it('starts the next chain when one is used up, and a replay checks every beacon against its chain', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-beacons-'))
    const path = join(dir, 'ledger.sqlite')
    try {
      const ledger = ledgerWithGateway(path, 256)
      const issued = Array.from({ length: 130 }, (_, n) => [ledger.beacon(signBeaconRequest(gateway, queryOf(gateway, n + 1), 'members', seal(`m${n}`))), ledger.beacon(signBeaconRequest(gateway, queryOf(gateway, n + 1), 'assignment', seal(`a${n}`)))]).flat()
      expect(issued.at(-1)).toMatchObject({ chain: 2, index: 4 })
      expect(new Set(issued.map((b) => b.value)).size).toBe(260)
      ledger.close()
      expect((await verifyLedger(path)).entries).toBeGreaterThan(260)

      // The operator swaps in a value of its choosing and re-signs the entry: the replay finds it.
      const db = new Database(path)
      db.defaultSafeIntegers(true)
      const last = db.prepare("SELECT * FROM log WHERE kind = 'beacon' ORDER BY seq DESC LIMIT 1").get() as { seq: bigint; at: bigint; kind: string; body: string; prev: string }
      const body = last.body.replace(/"value":"[0-9a-f]{64}"/, `"value":"${'ee'.repeat(32)}"`)
      const e = signEntry(operator, { seq: Number(last.seq), at: Number(last.at), kind: last.kind, body, prev: last.prev })
      db.prepare('UPDATE log SET body = ?, hash = ?, sig = ? WHERE seq = ?').run(e.body, e.hash, e.sig, last.seq)
      db.close()
      await expect(verifyLedger(path)).rejects.toThrow(/does not hash to the one before it/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 30_000)
})

describe('beacons from a served ledger', () => {
  let ledger: SqliteLedger
  let app: ReturnType<typeof createLedgerServer>
  let client: HttpLedgerClient
  beforeAll(async () => {
    ledger = ledgerWithGateway()
    app = createLedgerServer({ ledger })
    client = new HttpLedgerClient(await app.listen({ host: '127.0.0.1', port: 0 }))
  })
  afterAll(async () => {
    await app.close()
    ledger.close()
  })

  it('hands out the beacon a round’s coordinator asked for, to anyone who asks after', async () => {
    const q = queryOf()
    const issued = await client.beacon(signBeaconRequest(gateway, q, 'members', seal('served')))
    expect(issued).toEqual(ledger.beaconOf(q.env.round, 'members'))
    expect(await client.beaconOf(q.env.round, 'members')).toEqual(issued)
    expect(await client.beaconOf(q.env.round, 'assignment')).toBeUndefined()
    await expect(client.beacon({ ...signBeaconRequest(gateway, q, 'assignment', seal('s')), sig: '11'.repeat(64) } as BeaconRequest)).rejects.toMatchObject({ code: 'BAD_SIGNATURE' })
  })
})

describe('rounds that took a beacon and never settled', () => {
  it('cost their gateway the fee once their time runs out, and can no longer settle; settled ones cost nothing more', async () => {
    let t = 1_800_000_000_000
    const dir = await mkdtemp(join(tmpdir(), 'chorus-expiry-'))
    const path = join(dir, 'ledger.sqlite')
    const ledger = SqliteLedger.open({ path, operator, now: () => t, rules: { settleWithinMs: 60_000 } })
    try {
      const { gateway: coordinator } = population(ledger, 5)
      const deposit = () => ledger.account(coordinator.id)!.stake
      const round = (opts: Partial<HarnessOptions> = {}) =>
        new Harness({
          nodes: 5,
          ledger: ledger.viewAt(ledger.head())!,
          now: t,
          rules: CURRENT_RULES,
          request: { fee: '1000000', ticket: '10000' },
          beacon: (phase, seal, query) => ledger.beacon(signBeaconRequest(coordinator, query, phase, seal)),
          locks: (_node, join, query) => ledger.lockTicket({ query: query.env, join: join.env }).seq > 0,
          ...opts,
        })
      // A round run to its Result settles and closes: its fee is paid once, as rewards.
      const done = round()
      const start = deposit()
      ledger.settle(done.outcome!.transcript.map((m) => m.env))
      expect(deposit()).toBe(start - 1_000_000n)

      // A round abandoned after its members beacon (here: no answers ever came).
      const aborted = round({ toCoordinator: (msg) => msg.env.type === 'Join' })
      aborted.runDeadlines()
      expect(aborted.failure?.code).toBe('NO_ANSWERS')
      // One that finished but whose settlement comes too late.
      const late = round()
      const before = deposit()
      // Nothing happens before the time is up.
      t += 10_000
      ledger.credit(coordinator.id, 1n)
      expect(deposit()).toBe(before)
      t += 3_600_000
      const head = ledger.head()
      ledger.credit(coordinator.id, 1n)
      const expired = ledger.entries(1, 10_000).filter((e) => e.kind === 'expire')
      expect(expired).toHaveLength(2)
      expect(ledger.head()).not.toBe(head)
      expect(deposit()).toBe(before - 2_000_000n)
      expect(ledger.supply()).toMatchObject({ destroyed: 2_000_000n })
      expect(() => ledger.settle(late.outcome!.transcript.map((m) => m.env))).toThrow(expect.objectContaining({ code: 'EXPIRED' }))
      ledger.close()
      // The replay agrees: the same forfeits, the money held equal to what was created less them.
      expect((await verifyLedger(path)).settlements).toBe(1)
    } finally {
      if (ledger.isOpen) ledger.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
