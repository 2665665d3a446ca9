import { describe, expect, it } from 'vitest'
import type { Micro } from '../../src/ledger/amount.js'
import { type AccountState, type Charge, type Ledger, LedgerError, type SettlementReceipt } from '../../src/ledger/ledger.js'
import { signCharge } from '../../src/ledger/charge.js'
import { type AccountRequest, signRequest } from '../../src/ledger/requests.js'
import type { Standing } from '../../src/ledger/standing.js'
import type { Signed } from '../../src/protocol/envelope.js'
import { Harness, ident } from '../round/harness.js'
import { DEFAULT_CALIBRATION } from '../../src/ledger/calibration.js'

/**
 * What every ledger must do, run against a fresh ledger per test, through the calls a network
 * makes of it: an account's signed requests, the operator's faucet, a round's envelopes to settle
 * (as they arrive from a coordinator, checked by the ledger itself), and reads of accounts and of
 * the standing a round reads. The embedded SQLite ledger runs it directly and as served over HTTP;
 * an EVM one follows. Rounds are real: the round harness drives the real state machines with the
 * standing at the ledger's newest head, and the ledger settles the transcript they sign.
 */
export interface LedgerUnderTest {
  submit(request: AccountRequest): Promise<unknown>
  /** The operator's faucet. */
  credit(account: string, amount: Micro): Promise<unknown>
  settle(envelopes: readonly unknown[], charge?: Charge): Promise<SettlementReceipt>
  account(id: string): Promise<AccountState | undefined>
  accountOfKey(key: string): Promise<string | undefined>
  allowance(client: string, gateway: string): Promise<Micro>
  /** The standing at the newest head. */
  latest(): Promise<Standing>
  readonly unbondingMs: number
}

export interface LedgerFixture {
  ledger: LedgerUnderTest
  /** Moves the ledger's clock. */
  advance(ms: number): void
  close(): Promise<void>
}

const codeOf = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'accepted',
    (err: unknown) => {
      if (err instanceof LedgerError) return err.code
      throw err
    },
  )

/** A gateway and `n` staked nodes (the harness's keys), funded. */
/** Ledger rules whose judges need no calibration (tests of everything but the gate itself). */
export const GATE_OFF = { calibration: { ...DEFAULT_CALIBRATION, required: false } }

export function population(ledger: Ledger, n: number, stake = 2_000_000n) {
  const gateway = ident('coordinator')
  const nodes = Array.from({ length: n }, (_, i) => ident(`node-${i}`))
  ledger.submit(signRequest(gateway, 0, { op: 'register', kind: 'gateway' }))
  ledger.credit(gateway.id, 100_000_000n)
  ledger.submit(signRequest(gateway, 1, { op: 'stake', amount: '50000000' }))
  for (const node of nodes) {
    ledger.submit(signRequest(node, 0, { op: 'register', kind: 'node' }))
    ledger.credit(node.id, stake)
    ledger.submit(signRequest(node, 1, { op: 'stake', amount: stake.toString() }))
  }
  return { gateway, nodes }
}

/** The same population on a ledger under test. */
async function enrol(ledger: LedgerUnderTest, n: number, stake = 2_000_000n) {
  const gateway = ident('coordinator')
  const nodes = Array.from({ length: n }, (_, i) => ident(`node-${i}`))
  await ledger.submit(signRequest(gateway, 0, { op: 'register', kind: 'gateway' }))
  await ledger.credit(gateway.id, 100_000_000n)
  await ledger.submit(signRequest(gateway, 1, { op: 'stake', amount: '50000000' }))
  for (const node of nodes) {
    await ledger.submit(signRequest(node, 0, { op: 'register', kind: 'node' }))
    await ledger.credit(node.id, stake)
    await ledger.submit(signRequest(node, 1, { op: 'stake', amount: stake.toString() }))
  }
  return { gateway, nodes }
}

type RoundRequest = { fee?: string; ticket?: string; coordSeq?: number }
type Answers = (i: number) => string | undefined

/** One real round at the ledger's head; its transcript's envelopes. */
export function playRound(ledger: Ledger, n: number, request: RoundRequest = {}, answer?: Answers) {
  return playRoundMessages(ledger, n, request, answer).map((m: Signed) => m.env)
}

/** The same round as the coordinator holds it: signed messages. */
export function playRoundMessages(ledger: Ledger, n: number, request: RoundRequest = {}, answer?: Answers): readonly Signed[] {
  return roundAt(ledger.viewAt(ledger.head())!, n, request, answer)
}

function roundAt(view: Standing, n: number, request: RoundRequest, answer?: Answers): readonly Signed[] {
  const h = new Harness({ nodes: n, ledger: view, request: { fee: '1000000', ticket: '10000', ...request }, ...(answer ? { answer: (_n, i) => answer(i) } : {}) })
  h.runDeadlines()
  if (h.outcome === undefined) throw new Error(`round failed: ${h.failure?.message}`)
  return h.outcome.transcript
}

/** A real round at a ledger under test's newest head. */
async function round(ledger: LedgerUnderTest, n: number, request: RoundRequest = {}, answer?: Answers) {
  return roundAt(await ledger.latest(), n, request, answer).map((m) => m.env)
}

/** A ledger in this process, called directly. */
export function embedded(ledger: Ledger): LedgerUnderTest {
  return {
    submit: async (r) => ledger.submit(r),
    credit: async (account, amount) => ledger.credit(account, amount),
    settle: async (envelopes, charge) => ledger.settle(envelopes, charge),
    account: async (id) => ledger.account(id),
    accountOfKey: async (key) => ledger.accountOfKey(key),
    allowance: async (client, gateway) => ledger.allowance(client, gateway),
    latest: async () => ledger.viewAt(ledger.head())!,
    unbondingMs: ledger.rules().unbondingMs,
  }
}

const headOf = async (ledger: LedgerUnderTest) => (await ledger.latest()).head()

export function ledgerCompliance(name: string, make: () => LedgerFixture | Promise<LedgerFixture>) {
  describe(`ledger compliance: ${name}`, () => {
    it('registers accounts, stakes, unbonds and withdraws after the delay, each write signed by the account and applied once', async () => {
      const fx = await make()
      try {
        const { ledger } = fx
        const alice = ident('alice')
        expect(await codeOf(ledger.submit(signRequest(alice, 0, { op: 'stake', amount: '5' })))).toBe('UNKNOWN_ACCOUNT')
        await ledger.submit(signRequest(alice, 0, { op: 'register', kind: 'node' }))
        expect(await codeOf(ledger.submit(signRequest(alice, 0, { op: 'register', kind: 'node' })))).toBe('EXISTS')
        await ledger.credit(alice.id, 5_000_000n)
        const stake = signRequest(alice, 1, { op: 'stake', amount: '3000000' })
        await ledger.submit(stake)
        expect(await codeOf(ledger.submit(stake))).toBe('BAD_NONCE')
        expect(await codeOf(ledger.submit({ ...stake, nonce: 2 }))).toBe('BAD_SIGNATURE')
        expect(await codeOf(ledger.submit(signRequest(alice, 2, { op: 'stake', amount: '3000000' })))).toBe('INSUFFICIENT_FUNDS')
        const mallory = ident('mallory')
        expect(await codeOf(ledger.submit({ ...signRequest(mallory, 2, { op: 'unbond', amount: '1' }), key: alice.id }))).toBe('BAD_SIGNATURE')
        await ledger.submit(signRequest(alice, 2, { op: 'unbond', amount: '1000000' }))
        expect(await codeOf(ledger.submit(signRequest(alice, 3, { op: 'withdraw' })))).toBe('NOT_YET')
        fx.advance(ledger.unbondingMs)
        await ledger.submit(signRequest(alice, 3, { op: 'withdraw' }))
        expect((await ledger.account(alice.id))).toMatchObject({ balance: 3_000_000n, stake: 2_000_000n, unbonding: 0n, nonce: 4 })
      } finally {
        await fx.close()
      }
    })

    it('rotates keys without losing balance, stake or reputation; the old key acts no more', async () => {
      const fx = await make()
      try {
        const { ledger } = fx
        const { nodes } = await enrol(ledger, 4)
        await ledger.settle(await round(ledger, 4))
        const before = (await ledger.account(nodes[0]!.id))!
        const next = ident('node-0-next')
        await ledger.submit(signRequest(nodes[0]!, 2, { op: 'rotate', newKey: next.id }))
        expect((await ledger.accountOfKey(next.id))).toBe(nodes[0]!.id)
        expect((await ledger.accountOfKey(nodes[0]!.id))).toBeUndefined()
        expect((await ledger.account(nodes[0]!.id))).toMatchObject({ balance: before.balance, stake: before.stake, reputation: before.reputation, keys: [next.id] })
        expect(await codeOf(ledger.submit(signRequest(nodes[0]!, 3, { op: 'unbond', amount: '1' })))).toBe('UNKNOWN_ACCOUNT')
        await ledger.submit(signRequest(next, 3, { op: 'unbond', amount: '1' }))
        // Rounds as of the new head know the node by its new key only.
        const view = (await ledger.latest())
        expect([view.eligible(next.id), view.eligible(nodes[0]!.id)]).toEqual([true, false])
      } finally {
        await fx.close()
      }
    })

    it('settles a verified round exactly: the fee goes out as rewards, tickets come back, reputation moves', async () => {
      const fx = await make()
      try {
        const { ledger } = fx
        const { gateway, nodes } = await enrol(ledger, 7)
        const r = await ledger.settle(await round(ledger, 7))
        expect(r.pool).toBe(1_000_000n)
        expect(Object.values(r.rewards).reduce((a, x) => a + x, 0n)).toBe(1_000_000n)
        // The fee came out of the gateway's deposit.
        expect((await ledger.account(gateway.id))).toMatchObject({ balance: 50_000_000n, stake: 49_000_000n })
        let paid = 0n
        for (const n of nodes) paid += (await ledger.account(n.id))!.balance
        expect(paid).toBe(1_000_000n)
        for (const n of nodes) expect((await ledger.account(n.id))!.stake).toBe(2_000_000n)
        // The harness's judges put node 0 first: its answer reputation rose, the last one's fell.
        expect((await ledger.account(nodes[0]!.id))!.reputation.answerPpm).toBeGreaterThan(500_000)
        expect((await ledger.account(nodes[6]!.id))!.reputation.answerPpm).toBeLessThan(500_000)
      } finally {
        await fx.close()
      }
    })

    it('forfeits a no-show’s ticket into the pool', async () => {
      const fx = await make()
      try {
        const { ledger } = fx
        const { nodes } = await enrol(ledger, 5)
        const r = await ledger.settle(await round(ledger, 5, {}, (i) => (i === 4 ? undefined : `answer ${i}`)))
        expect(r.forfeits).toEqual({ [nodes[4]!.id]: 10_000n })
        expect(r.pool).toBe(1_010_000n)
        expect((await ledger.account(nodes[4]!.id))!.stake).toBe(1_990_000n)
      } finally {
        await fx.close()
      }
    })

    it('changes nothing for a forged, truncated, reordered, replayed or foreign transcript', async () => {
      const fx = await make()
      try {
        const { ledger } = fx
        await enrol(ledger, 5)
        const t = await round(ledger, 5)
        const head = await headOf(ledger)
        const forged = structuredClone(t) as { type: string; body: Record<string, unknown> }[]
        forged.find((e) => e.type === 'Result')!.body.winner = forged[1]!.body.ticket === undefined ? 'x' : ident('node-4').id
        expect(await codeOf(ledger.settle(forged))).toBe('INVALID_TRANSCRIPT')
        expect(await codeOf(ledger.settle(t.slice(0, -1)))).toBe('INVALID_TRANSCRIPT')
        expect(await codeOf(ledger.settle([t[0]!, t[2]!, t[1]!, ...t.slice(3)]))).toBe('INVALID_TRANSCRIPT')
        expect(await codeOf(ledger.settle([]))).toBe('INVALID_TRANSCRIPT')
        expect(await headOf(ledger)).toBe(head)
        await ledger.settle(t)
        const after = await headOf(ledger)
        expect(await codeOf(ledger.settle(t))).toBe('ALREADY_SETTLED')
        expect(await headOf(ledger)).toBe(after)
      } finally {
        await fx.close()
      }
    })

    it('meters a request: the payer pays at most what it has and allowed, the gateway keeps its cut, the rest joins the pool', async () => {
      const fx = await make()
      try {
        const { ledger } = fx
        const { gateway } = await enrol(ledger, 5)
        const client = ident('client')
        await ledger.submit(signRequest(client, 0, { op: 'register', kind: 'client' }))
        await ledger.credit(client.id, 3_000_000n)
        const settleCharged = (t: unknown[], account: string, amount: string, cutBp: number) => ledger.settle(t, signCharge(gateway, (t[0] as { round: string }).round, { account, amount, cutBp }))
        // Nothing allowed yet: the charge takes nothing, the round still settles on its fee.
        let r = await settleCharged(await round(ledger, 5), client.id, '1000000', 1000)
        expect([r.charged, r.pool]).toEqual([0n, 1_000_000n])
        expect(await codeOf(ledger.submit(signRequest(client, 1, { op: 'allow', gateway: client.id, amount: '5' })))).toBe('NOT_A_GATEWAY')
        await ledger.submit(signRequest(client, 1, { op: 'allow', gateway: gateway.id, amount: '1500000' }))
        r = await settleCharged(await round(ledger, 5), client.id, '1000000', 1000)
        expect([r.charged, r.pool]).toEqual([1_000_000n, 1_900_000n])
        expect((await ledger.account(gateway.id))!.balance).toBe(50_100_000n)
        // (a standalone gateway is its own operator: the cut is its own)
        // 500 000 of the allowance is left: the next charge is cut to it.
        r = await settleCharged(await round(ledger, 5), client.id, '1000000', 0)
        expect(r.charged).toBe(500_000n)
        expect((await ledger.allowance(client.id, gateway.id))).toBe(0n)
        expect((await ledger.account(client.id))!.balance).toBe(1_500_000n)
        // A gateway metering itself needs no allowance; a malformed charge changes nothing.
        const head = await headOf(ledger)
        const t = await round(ledger, 5)
        expect(await codeOf(settleCharged(t, client.id, '-1', 0))).toBe('BAD_REQUEST')
        // Signed for another round, or by another key: refused.
        expect(await codeOf(ledger.settle(t, signCharge(gateway, 'ab'.repeat(32), { account: client.id, amount: '1', cutBp: 0 })))).toBe('BAD_SIGNATURE')
        expect(await codeOf(ledger.settle(t, signCharge(client, (t[0] as { round: string }).round, { account: client.id, amount: '1', cutBp: 0 })))).toBe('BAD_SIGNATURE')
        expect(await headOf(ledger)).toBe(head)
        r = await settleCharged(t, gateway.id, '2000000', 0)
        expect(r.charged).toBe(2_000_000n)
        // A gateway that belongs to an operator meters itself from the operator's account.
        const op = ident('operator')
        await ledger.submit(signRequest(op, 0, { op: 'register', kind: 'operator' }))
        await ledger.credit(op.id, 5_000_000n)
        const owned = ident('owned-gateway')
        await ledger.submit(signRequest(owned, 0, { op: 'register', kind: 'gateway', operator: op.id }))
        expect((await ledger.account(owned.id))!.operator).toBe(op.id)
      } finally {
        await fx.close()
      }
    })

    it('refuses a round of an unregistered gateway, one that names an unknown head, and ineligible nodes', async () => {
      const fx = await make()
      try {
        const { ledger } = fx
        const nodes = Array.from({ length: 4 }, (_, i) => ident(`node-${i}`))
        for (const node of nodes) {
          await ledger.submit(signRequest(node, 0, { op: 'register', kind: 'node' }))
          await ledger.credit(node.id, 2_000_000n)
          await ledger.submit(signRequest(node, 1, { op: 'stake', amount: '2000000' }))
        }
        expect(await codeOf(ledger.settle(await round(ledger, 4, { fee: '0', ticket: '0' })))).toBe('NOT_A_GATEWAY')
        const gw = ident('coordinator')
        await ledger.submit(signRequest(gw, 0, { op: 'register', kind: 'gateway' }))
        // A registered gateway without a deposit cannot pay the fee.
        expect(await codeOf(ledger.settle(await round(ledger, 4)))).toBe('INSUFFICIENT_FUNDS')
        expect((await ledger.latest()).deposit(gw.id)).toBe(0n)
        expect((await ledger.latest()).deposit(nodes[0]!.id)).toBeUndefined()
        // A round signed by all, naming a head this ledger never had; a Query altered to name one
        // breaks its signature instead.
        const standing = await ledger.latest()
        const alien = roundAt({ ...standing, head: () => 'ab'.repeat(32) }, 4, { fee: '0' }).map((m) => m.env)
        expect(await codeOf(ledger.settle(alien))).toBe('UNKNOWN_HEAD')
        const altered = (await round(ledger, 4, { fee: '0' })) as { body: { ledgerHead: string } }[]
        altered[0]!.body.ledgerHead = 'ab'.repeat(32)
        expect(await codeOf(ledger.settle(altered))).toBe('INVALID_TRANSCRIPT')
        // A node without enough stake is not eligible at the head: a round admitting it does not verify.
        const poor = ident('node-4')
        await ledger.submit(signRequest(poor, 0, { op: 'register', kind: 'node' }))
        const view = (await ledger.latest())
        expect(view.eligible(poor.id)).toBe(false)
        expect(view.judgeWeight(poor.id)).toBe(0)
        expect(view.eligible(nodes[0]!.id)).toBe(true)
      } finally {
        await fx.close()
      }
    })
  })
}
