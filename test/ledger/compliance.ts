import { describe, expect, it } from 'vitest'
import { type Identity } from '../../src/crypto/identity.js'
import { type Ledger, LedgerError } from '../../src/ledger/ledger.js'
import { signCharge } from '../../src/ledger/charge.js'
import { signRequest } from '../../src/ledger/requests.js'
import type { Signed } from '../../src/protocol/envelope.js'
import { Harness, ident } from '../round/harness.js'

/**
 * What every Ledger implementation must do, run against a fresh ledger per test. Rounds are real:
 * the round harness drives the real state machines with the ledger's view at its head, and the
 * ledger settles the transcript they sign.
 */
export interface LedgerFixture {
  ledger: Ledger
  operator: Identity
  /** Moves the ledger's clock. */
  advance(ms: number): void
  close(): void
}

const codeOf = (fn: () => unknown): string => {
  try {
    fn()
  } catch (err) {
    if (err instanceof LedgerError) return err.code
    throw err
  }
  return 'accepted'
}

/** A gateway and `n` staked nodes (the harness's keys), funded. */
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

/** One real round at the ledger's head; its transcript's envelopes. */
export function playRound(ledger: Ledger, n: number, request: { fee?: string; ticket?: string } = {}, answer?: (i: number) => string | undefined) {
  return playRoundMessages(ledger, n, request, answer).map((m: Signed) => m.env)
}

/** The same round as the coordinator holds it: signed messages. */
export function playRoundMessages(ledger: Ledger, n: number, request: { fee?: string; ticket?: string } = {}, answer?: (i: number) => string | undefined): readonly Signed[] {
  const view = ledger.viewAt(ledger.head())!
  const h = new Harness({ nodes: n, ledger: view, request: { fee: '1000000', ticket: '10000', ...request }, ...(answer ? { answer: (_n, i) => answer(i) } : {}) })
  h.runDeadlines()
  if (h.outcome === undefined) throw new Error(`round failed: ${h.failure?.message}`)
  return h.outcome.transcript
}

export function ledgerCompliance(name: string, make: () => LedgerFixture) {
  describe(`ledger compliance: ${name}`, () => {
    it('registers accounts, stakes, unbonds and withdraws after the delay, each write signed by the account and applied once', () => {
      const fx = make()
      try {
        const { ledger } = fx
        const alice = ident('alice')
        expect(codeOf(() => ledger.submit(signRequest(alice, 0, { op: 'stake', amount: '5' })))).toBe('UNKNOWN_ACCOUNT')
        ledger.submit(signRequest(alice, 0, { op: 'register', kind: 'node' }))
        expect(codeOf(() => ledger.submit(signRequest(alice, 0, { op: 'register', kind: 'node' })))).toBe('EXISTS')
        ledger.credit(alice.id, 5_000_000n)
        const stake = signRequest(alice, 1, { op: 'stake', amount: '3000000' })
        ledger.submit(stake)
        expect(codeOf(() => ledger.submit(stake))).toBe('BAD_NONCE')
        expect(codeOf(() => ledger.submit({ ...stake, nonce: 2 }))).toBe('BAD_SIGNATURE')
        expect(codeOf(() => ledger.submit(signRequest(alice, 2, { op: 'stake', amount: '3000000' })))).toBe('INSUFFICIENT_FUNDS')
        const mallory = ident('mallory')
        expect(codeOf(() => ledger.submit({ ...signRequest(mallory, 2, { op: 'unbond', amount: '1' }), key: alice.id }))).toBe('BAD_SIGNATURE')
        ledger.submit(signRequest(alice, 2, { op: 'unbond', amount: '1000000' }))
        expect(codeOf(() => ledger.submit(signRequest(alice, 3, { op: 'withdraw' })))).toBe('NOT_YET')
        fx.advance(ledger.rules().unbondingMs)
        ledger.submit(signRequest(alice, 3, { op: 'withdraw' }))
        expect(ledger.account(alice.id)).toMatchObject({ balance: 3_000_000n, stake: 2_000_000n, unbonding: 0n, nonce: 4 })
      } finally {
        fx.close()
      }
    })

    it('rotates keys without losing balance, stake or reputation; the old key acts no more', () => {
      const fx = make()
      try {
        const { ledger } = fx
        const { nodes } = population(ledger, 4)
        ledger.settle(playRound(ledger, 4))
        const before = ledger.account(nodes[0]!.id)!
        const next = ident('node-0-next')
        ledger.submit(signRequest(nodes[0]!, 2, { op: 'rotate', newKey: next.id }))
        expect(ledger.accountOfKey(next.id)).toBe(nodes[0]!.id)
        expect(ledger.accountOfKey(nodes[0]!.id)).toBeUndefined()
        expect(ledger.account(nodes[0]!.id)).toMatchObject({ balance: before.balance, stake: before.stake, reputation: before.reputation, keys: [next.id] })
        expect(codeOf(() => ledger.submit(signRequest(nodes[0]!, 3, { op: 'unbond', amount: '1' })))).toBe('UNKNOWN_ACCOUNT')
        ledger.submit(signRequest(next, 3, { op: 'unbond', amount: '1' }))
        // Rounds as of the new head know the node by its new key only.
        const view = ledger.viewAt(ledger.head())!
        expect([view.eligible(next.id), view.eligible(nodes[0]!.id)]).toEqual([true, false])
      } finally {
        fx.close()
      }
    })

    it('settles a verified round exactly: the fee goes out as rewards, tickets come back, reputation moves', () => {
      const fx = make()
      try {
        const { ledger } = fx
        const { gateway, nodes } = population(ledger, 7)
        const r = ledger.settle(playRound(ledger, 7))
        expect(r.pool).toBe(1_000_000n)
        expect(Object.values(r.rewards).reduce((a, x) => a + x, 0n)).toBe(1_000_000n)
        // The fee came out of the gateway's deposit.
        expect(ledger.account(gateway.id)).toMatchObject({ balance: 50_000_000n, stake: 49_000_000n })
        const paid = nodes.reduce((a, n) => a + ledger.account(n.id)!.balance, 0n)
        expect(paid).toBe(1_000_000n)
        for (const n of nodes) expect(ledger.account(n.id)!.stake).toBe(2_000_000n)
        // The harness's judges put node 0 first: its answer reputation rose, the last one's fell.
        expect(ledger.account(nodes[0]!.id)!.reputation.answerPpm).toBeGreaterThan(500_000)
        expect(ledger.account(nodes[6]!.id)!.reputation.answerPpm).toBeLessThan(500_000)
      } finally {
        fx.close()
      }
    })

    it('forfeits a no-show’s ticket into the pool', () => {
      const fx = make()
      try {
        const { ledger } = fx
        const { nodes } = population(ledger, 5)
        const r = ledger.settle(playRound(ledger, 5, {}, (i) => (i === 4 ? undefined : `answer ${i}`)))
        expect(r.forfeits).toEqual({ [nodes[4]!.id]: 10_000n })
        expect(r.pool).toBe(1_010_000n)
        expect(ledger.account(nodes[4]!.id)!.stake).toBe(1_990_000n)
      } finally {
        fx.close()
      }
    })

    it('changes nothing for a forged, truncated, reordered, replayed or foreign transcript', () => {
      const fx = make()
      try {
        const { ledger } = fx
        population(ledger, 5)
        const t = playRound(ledger, 5)
        const head = ledger.head()
        const forged = structuredClone(t) as { type: string; body: Record<string, unknown> }[]
        forged.find((e) => e.type === 'Result')!.body.winner = forged[1]!.body.ticket === undefined ? 'x' : ident('node-4').id
        expect(codeOf(() => ledger.settle(forged))).toBe('INVALID_TRANSCRIPT')
        expect(codeOf(() => ledger.settle(t.slice(0, -1)))).toBe('INVALID_TRANSCRIPT')
        expect(codeOf(() => ledger.settle([t[0]!, t[2]!, t[1]!, ...t.slice(3)]))).toBe('INVALID_TRANSCRIPT')
        expect(codeOf(() => ledger.settle([]))).toBe('INVALID_TRANSCRIPT')
        expect(ledger.head()).toBe(head)
        ledger.settle(t)
        const after = ledger.head()
        expect(codeOf(() => ledger.settle(t))).toBe('ALREADY_SETTLED')
        expect(ledger.head()).toBe(after)
      } finally {
        fx.close()
      }
    })

    it('meters a request: the payer pays at most what it has and allowed, the gateway keeps its cut, the rest joins the pool', () => {
      const fx = make()
      try {
        const { ledger } = fx
        const { gateway } = population(ledger, 5)
        const client = ident('client')
        ledger.submit(signRequest(client, 0, { op: 'register', kind: 'client' }))
        ledger.credit(client.id, 3_000_000n)
        const settleCharged = (t: unknown[], account: string, amount: string, cutBp: number) => ledger.settle(t, signCharge(gateway, (t[0] as { round: string }).round, { account, amount, cutBp }))
        // Nothing allowed yet: the charge takes nothing, the round still settles on its fee.
        let r = settleCharged(playRound(ledger, 5), client.id, '1000000', 1000)
        expect([r.charged, r.pool]).toEqual([0n, 1_000_000n])
        expect(codeOf(() => ledger.submit(signRequest(client, 1, { op: 'allow', gateway: client.id, amount: '5' })))).toBe('NOT_A_GATEWAY')
        ledger.submit(signRequest(client, 1, { op: 'allow', gateway: gateway.id, amount: '1500000' }))
        r = settleCharged(playRound(ledger, 5), client.id, '1000000', 1000)
        expect([r.charged, r.pool]).toEqual([1_000_000n, 1_900_000n])
        expect(ledger.account(gateway.id)!.balance).toBe(50_100_000n)
        // (a standalone gateway is its own operator: the cut is its own)
        // 500 000 of the allowance is left: the next charge is cut to it.
        r = settleCharged(playRound(ledger, 5), client.id, '1000000', 0)
        expect(r.charged).toBe(500_000n)
        expect(ledger.allowance(client.id, gateway.id)).toBe(0n)
        expect(ledger.account(client.id)!.balance).toBe(1_500_000n)
        // A gateway metering itself needs no allowance; a malformed charge changes nothing.
        const head = ledger.head()
        const t = playRound(ledger, 5)
        expect(codeOf(() => settleCharged(t, client.id, '-1', 0))).toBe('BAD_REQUEST')
        // Signed for another round, or by another key: refused.
        expect(codeOf(() => ledger.settle(t, signCharge(gateway, 'ab'.repeat(32), { account: client.id, amount: '1', cutBp: 0 })))).toBe('BAD_SIGNATURE')
        expect(codeOf(() => ledger.settle(t, signCharge(client, (t[0] as { round: string }).round, { account: client.id, amount: '1', cutBp: 0 })))).toBe('BAD_SIGNATURE')
        expect(ledger.head()).toBe(head)
        r = settleCharged(t, gateway.id, '2000000', 0)
        expect(r.charged).toBe(2_000_000n)
        // A gateway that belongs to an operator meters itself from the operator's account.
        const op = ident('operator')
        ledger.submit(signRequest(op, 0, { op: 'register', kind: 'operator' }))
        ledger.credit(op.id, 5_000_000n)
        const owned = ident('owned-gateway')
        ledger.submit(signRequest(owned, 0, { op: 'register', kind: 'gateway', operator: op.id }))
        expect(ledger.account(owned.id)!.operator).toBe(op.id)
      } finally {
        fx.close()
      }
    })

    it('refuses a round of an unregistered gateway, one that names an unknown head, and ineligible nodes', () => {
      const fx = make()
      try {
        const { ledger } = fx
        const nodes = Array.from({ length: 4 }, (_, i) => ident(`node-${i}`))
        for (const node of nodes) {
          ledger.submit(signRequest(node, 0, { op: 'register', kind: 'node' }))
          ledger.credit(node.id, 2_000_000n)
          ledger.submit(signRequest(node, 1, { op: 'stake', amount: '2000000' }))
        }
        expect(codeOf(() => ledger.settle(playRound(ledger, 4, { fee: '0', ticket: '0' })))).toBe('NOT_A_GATEWAY')
        const gw = ident('coordinator')
        ledger.submit(signRequest(gw, 0, { op: 'register', kind: 'gateway' }))
        // A registered gateway without a deposit cannot pay the fee.
        expect(codeOf(() => ledger.settle(playRound(ledger, 4)))).toBe('INSUFFICIENT_FUNDS')
        expect(ledger.viewAt(ledger.head())!.deposit(gw.id)).toBe(0n)
        expect(ledger.viewAt(ledger.head())!.deposit(nodes[0]!.id)).toBeUndefined()
        const alien = playRound(ledger, 4, { fee: '0' }) as { body: { ledgerHead: string } }[]
        alien[0]!.body.ledgerHead = 'ab'.repeat(32)
        expect(codeOf(() => ledger.settle(alien))).toBe('UNKNOWN_HEAD')
        // A node without enough stake is not eligible at the head: a round admitting it does not verify.
        const poor = ident('node-4')
        ledger.submit(signRequest(poor, 0, { op: 'register', kind: 'node' }))
        const view = ledger.viewAt(ledger.head())!
        expect(view.eligible(poor.id)).toBe(false)
        expect(view.judgeWeight(poor.id)).toBe(0)
        expect(view.eligible(nodes[0]!.id)).toBe(true)
      } finally {
        fx.close()
      }
    })
  })
}
