import type { FastifyInstance } from 'fastify'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashParts } from '../../src/crypto/hash.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { signCharge } from '../../src/ledger/charge.js'
import { signCreditOrder } from '../../src/ledger/creditOrder.js'
import { HttpLedgerClient, LedgerUnreachableError } from '../../src/ledger/httpLedgerClient.js'
import { LedgerError } from '../../src/ledger/ledger.js'
import { createLedgerServer } from '../../src/ledger/ledgerServer.js'
import { CachedLedger } from '../../src/ledger/networkLedger.js'
import { signRequest } from '../../src/ledger/requests.js'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import { ident } from '../round/harness.js'
import { GATE_OFF, ledgerCompliance, playRoundMessages, population } from './compliance.js'
import { standingOf } from '../../src/ledger/standing.js'
import type { Signed } from '../../src/protocol/envelope.js'

const operator = identityFromSeed(Buffer.from(hashParts('served-ledger-operator'), 'hex'))

const codeOf = async (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'accepted',
    (err: unknown) => (err instanceof LedgerError ? err.code : (err as { code?: string }).code ?? String(err)),
  )

/**
 * The compliance suite through `chorus ledger serve`: every call over HTTP, each write carrying its
 * own authority (the faucet is the operator's signed order), a transcript sent as a coordinator
 * sends one.
 */
ledgerCompliance('sqlite, served over HTTP', async () => {
  let t = 1_800_000_000_000
  let orders = 0
  const ledger = SqliteLedger.open({ path: ':memory:', operator, now: () => t, rules: { oldestRules: 1, ...GATE_OFF } })
  const app = createLedgerServer({ ledger, writes: { ratePerS: 10_000, burst: 10_000 }, now: () => t })
  const client = new HttpLedgerClient(await app.listen({ host: '127.0.0.1', port: 0 }))
  return {
    ledger: {
      submit: (r) => client.submit(r),
      // Each order's own millisecond: an order is taken once.
      credit: (account, amount) => client.credit(signCreditOrder(operator, account, amount, t + orders++)),
      // What the client sends of a message is its envelope.
      settle: (envelopes, charge) => client.settle(envelopes.map((env) => ({ env }) as unknown as Signed), charge),
      account: (id) => client.account(id),
      accountOfKey: (key) => client.accountOfKey(key),
      allowance: (c, g) => client.allowance(c, g),
      latest: async () => standingOf(await client.latest()),
      unbondingMs: ledger.rules().unbondingMs,
    },
    advance: (ms) => void (t += ms),
    close: async () => {
      await app.close()
      ledger.close()
    },
  }
})

describe('chorus ledger serve', () => {
  let ledger: SqliteLedger
  let app: FastifyInstance
  let url: string
  let client: HttpLedgerClient
  const now = Date.now()

  beforeAll(async () => {
    ledger = SqliteLedger.open({ path: ':memory:', operator, rules: { oldestRules: 1, ...GATE_OFF } })
    app = createLedgerServer({ ledger, writes: { ratePerS: 1000, burst: 1000 }, now: () => now })
    url = await app.listen({ host: '127.0.0.1', port: 0 })
    client = new HttpLedgerClient(url)
  })
  afterAll(async () => {
    await app.close()
    ledger.close()
  })

  it('takes an account’s own signed requests, and refuses forged, replayed and wrongly signed ones without a change', async () => {
    const alice = ident('served-alice')
    await client.submit(signRequest(alice, 0, { op: 'register', kind: 'client' }))
    expect(await client.accountOfKey(alice.id)).toBe(alice.id)
    const head = ledger.head()
    expect(await codeOf(client.submit(signRequest(alice, 0, { op: 'register', kind: 'client' })))).toBe('EXISTS')
    const mallory = ident('served-mallory')
    expect(await codeOf(client.submit({ ...signRequest(mallory, 1, { op: 'stake', amount: '1' }), key: alice.id }))).toBe('BAD_SIGNATURE')
    expect(await codeOf(client.submit({ key: alice.id, nonce: 1, body: { op: 'stake' }, sig: '00' } as never))).toBe('BAD_REQUEST')
    expect(ledger.head()).toBe(head)
    // Reads of what does not exist are answers, not errors.
    expect(await client.account('ab'.repeat(32))).toBeUndefined()
    expect(await client.standingAt('cd'.repeat(32))).toBeUndefined()
    expect(await client.allowance(alice.id, 'ab'.repeat(32))).toBe(0n)
  })

  it('credits only on the operator’s signed order, once, within its minute', async () => {
    const bob = ident('served-bob')
    await client.submit(signRequest(bob, 0, { op: 'register', kind: 'client' }))
    const order = signCreditOrder(operator, bob.id, 5_000_000n, now)
    await client.credit(order)
    expect((await client.account(bob.id))!.balance).toBe(5_000_000n)
    expect(await codeOf(client.credit(order))).toBe('BAD_NONCE')
    expect(await codeOf(client.credit(signCreditOrder(bob, bob.id, 1n, now)))).toBe('BAD_SIGNATURE')
    expect(await codeOf(client.credit(signCreditOrder(operator, bob.id, 1n, now - 120_000)))).toBe('NOT_YET')
    expect(await codeOf(client.credit({ ...order, amount: '6000000' }))).toBe('BAD_SIGNATURE')
    expect((await client.account(bob.id))!.balance).toBe(5_000_000n)
  })

  it('settles a round sent over HTTP with its charge; the charge must be the coordinator’s', async () => {
    const { gateway } = population(ledger, 5)
    const t = playRoundMessages(ledger, 5)
    const round = t[0]!.env.round
    const stranger = ident('served-stranger')
    expect(await codeOf(client.settle(t, signCharge(stranger, round, { account: gateway.id, amount: '1', cutBp: 0 })))).toBe('BAD_SIGNATURE')
    const r = await client.settle(t, signCharge(gateway, round, { account: gateway.id, amount: '0', cutBp: 0 }))
    expect(r.pool).toBe(1_000_000n)
    expect(await codeOf(client.settle(t))).toBe('ALREADY_SETTLED')
    const latest = await client.latest()
    expect(latest.head).toBe(ledger.head())
    expect(latest.gateways.map(([id]) => id)).toContain(gateway.id)
  })

  it('settles rounds sent at once, each on its own: a copy sent beside its original is refused alone', async () => {
    // The population of the first test.
    const rounds = [11, 12, 13].map((coordSeq) => playRoundMessages(ledger, 5, { coordSeq }))
    const results = await Promise.allSettled([...rounds, rounds[0]!].map((t) => client.settle(t)))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3)
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(refused.map((r) => (r.reason as LedgerError).code)).toEqual(['ALREADY_SETTLED'])
    for (const t of rounds) expect(ledger.entries(1, 10_000).some((e) => e.kind === 'settle' && e.body.includes(t[0]!.env.round))).toBe(true)
  })

  it('follows the ledger by changes: a reader that knows a head is sent what changed since', async () => {
    // The population of the test before.
    const gateway = ident('coordinator')
    const reader = await CachedLedger.connect(client)
    const before = ledger.head()
    const t = playRoundMessages(ledger, 5)
    await client.settle(t, signCharge(gateway, t[0]!.env.round, { account: gateway.id, amount: '0', cutBp: 0 }))
    const change = await client.standingAt(ledger.head(), { base: before })
    expect(change!.base).toBe(before)
    expect(change!.nodes.length + change!.gateways.length).toBeLessThanOrEqual(6)
    const after = await reader.refresh()
    expect(after.head()).toBe(ledger.head())
    const whole = ledger.viewAt(ledger.head())!
    for (const n of ledger.snapshotAt(ledger.head())!.nodes.map(([id]) => id)) {
      expect([after.eligible(n), after.judgeWeight(n), after.reputationPpm(n)]).toEqual([whole.eligible(n), whole.judgeWeight(n), whole.reputationPpm(n)])
    }
    expect(after.deposit(gateway.id)).toBe(whole.deposit(gateway.id))
  })

  it('answers hostile bodies on every write route with a 4xx and changes nothing', async () => {
    const head = ledger.head()
    const bodies = fc.sample(
      fc.oneof(
        fc.jsonValue(),
        fc.record({ key: fc.stringMatching(/^[0-9a-f]{64}$/), nonce: fc.integer(), body: fc.jsonValue(), sig: fc.stringMatching(/^[0-9a-f]{128}$/) }),
        fc.record({ transcript: fc.array(fc.jsonValue(), { maxLength: 5 }), charge: fc.jsonValue() }),
        fc.record({ account: fc.stringMatching(/^[0-9a-f]{64}$/), amount: fc.string(), at: fc.integer(), sig: fc.string() }),
      ),
      { numRuns: 150, seed: 13 },
    )
    for (const [i, body] of bodies.entries()) {
      const route = ['requests', 'settlements', 'credits'][i % 3]
      const res = await fetch(`${url}/v1/ledger/${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      expect(res.status, `${route} ${JSON.stringify(body)}`).toBeGreaterThanOrEqual(400)
      expect(res.status, `${route} ${JSON.stringify(body)}`).toBeLessThan(500)
      expect(((await res.json()) as { error: { code: string } }).error.code).toMatch(/^[A-Z_]+$/)
    }
    expect(ledger.head()).toBe(head)
  })

  it('bounds bodies and rates, and says so', async () => {
    const big = await fetch(`${url}/v1/ledger/settlements`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transcript: ['x'.repeat(9 * 1024 * 1024)] }) })
    expect(big.status).toBe(413)
    const tight = createLedgerServer({ ledger, writes: { ratePerS: 1, burst: 2 } })
    const tightUrl = await tight.listen({ host: '127.0.0.1', port: 0 })
    try {
      const statuses: number[] = []
      for (let i = 0; i < 4; i++) statuses.push((await fetch(`${tightUrl}/v1/ledger/requests`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status)
      expect(statuses).toEqual([400, 400, 429, 429])
    } finally {
      await tight.close()
    }
  })

  it('pages its log in bounded bytes, in order, to the end', async () => {
    const all = []
    for (let from = 1; ; ) {
      const page = await client.entries(from, 500)
      if (page.length === 0) break
      all.push(...page)
      from += page.length
    }
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1))
    expect(all.at(-1)!.hash).toBe(ledger.head())
  })

  it('a ledger that is not there is a clear error, not a hang', async () => {
    const gone = new HttpLedgerClient('http://127.0.0.1:9', 2_000)
    await expect(gone.latest()).rejects.toBeInstanceOf(LedgerUnreachableError)
  })
})
