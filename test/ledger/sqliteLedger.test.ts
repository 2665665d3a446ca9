import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { hashParts } from '../../src/crypto/hash.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import fc from 'fast-check'
import { signCharge } from '../../src/ledger/charge.js'
import { signEntry } from '../../src/ledger/logEntry.js'
import { LedgerError } from '../../src/ledger/ledger.js'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import { verifyLedger } from '../../src/ledger/verifyLedger.js'
import { canonicalJson } from '../../src/crypto/canonical.js'
import { PreparedTranscript } from '../../src/ledger/preparedTranscript.js'
import { signRequest } from '../../src/ledger/requests.js'
import { mergeSnapshot } from '../../src/ledger/standing.js'
import { ident } from '../round/harness.js'
import { embedded, GATE_OFF, ledgerCompliance, playRound, playRoundMessages, population } from './compliance.js'

const operator = identityFromSeed(Buffer.from(hashParts('ledger-operator'), 'hex'))

/**
 * The compliance suite's rounds run rules 1 (the harness needs no ledger beacons or locks; the
 * settlement arithmetic is the same under every version), so its ledgers still settle them. Rounds
 * by the current rules on a ledger are in beacons.test.ts and ticketLocks.test.ts.
 */
export const COMPLIANCE_RULES = { oldestRules: 1, ...GATE_OFF }

function fixture(path = ':memory:') {
  let t = 1_800_000_000_000
  const ledger = SqliteLedger.open({ path, operator, now: () => t, rules: COMPLIANCE_RULES })
  return { ledger, operator, advance: (ms: number) => void (t += ms), close: () => ledger.close() }
}

ledgerCompliance('sqlite, in process', () => {
  const fx = fixture()
  return { ledger: embedded(fx.ledger), advance: fx.advance, close: async () => fx.close() }
})

describe('the SQLite ledger file', () => {
  it('replays to the same state (chorus ledger verify), and any edit to the file is found', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-ledger-'))
    const path = join(dir, 'ledger.sqlite')
    const fx = fixture(path)
    population(fx.ledger, 5)
    for (let r = 0; r < 3; r++) fx.ledger.settle(playRound(fx.ledger, 5))
    const head = fx.ledger.head()
    fx.close()
    const v = await verifyLedger(path)
    expect(v).toMatchObject({ head, settlements: 3, operator: operator.id })

    // Reopened, it carries on from its head.
    const again = fixture(path)
    expect(again.ledger.head()).toBe(head)
    again.close()

    const edit = (sql: string) => {
      const db = new Database(path)
      db.exec(sql)
      db.close()
    }
    edit("UPDATE accounts SET balance = balance + 1 WHERE kind = 'gateway'")
    await expect(verifyLedger(path)).rejects.toThrow(/differs from the state its log rebuilds|micro-units/)
    edit("UPDATE accounts SET balance = balance - 1 WHERE kind = 'gateway'")
    expect((await verifyLedger(path)).head).toBe(head)
    // The gateway's credit (entry 3), made larger in the log:
    edit("UPDATE log SET body = replace(body, '100000000', '100000001') WHERE seq = 3")
    await expect(verifyLedger(path)).rejects.toThrow(/entry 3's hash does not match/)
  })

  it('settles deterministically: two ledgers given the same requests and transcripts agree to the micro-unit', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ n: fc.integer({ min: 3, max: 7 }), fee: fc.integer({ min: 0, max: 3_000_000 }), ticket: fc.integer({ min: 0, max: 50_000 }), noShow: fc.integer({ min: 0, max: 7 }), charge: fc.integer({ min: 0, max: 900_000 }) }), { minLength: 1, maxLength: 4 }),
        (rounds) => {
          const a = fixture()
          const b = fixture()
          try {
            const { gateway } = population(a.ledger, 7)
            population(b.ledger, 7)
            for (const r of rounds) {
              const t = playRound(a.ledger, r.n, { fee: String(r.fee), ticket: String(r.ticket) }, (i) => (i === r.noShow ? undefined : `answer ${i % 2}`))
              const charge = signCharge(gateway, (t[0] as { round: string }).round, { account: gateway.id, amount: String(r.charge), cutBp: 1000 })
              const ra = a.ledger.settle(t, charge)
              const rb = b.ledger.settle(structuredClone(t), charge)
              expect(rb).toEqual(ra)
              a.advance(1000)
              b.advance(1000)
            }
            expect(b.ledger.head()).toBe(a.ledger.head())
            expect(b.ledger.stateDigest()).toBe(a.ledger.stateDigest())
            expect(a.ledger.supply().held).toBe(a.ledger.supply().created)
          } finally {
            a.close()
            b.close()
          }
        },
      ),
      { numRuns: 12 },
    )
  })

  it('finds a settlement the operator forged and signed itself: the log is re-verified, not trusted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-ledger-'))
    const path = join(dir, 'ledger.sqlite')
    const fx = fixture(path)
    population(fx.ledger, 5)
    fx.ledger.settle(playRound(fx.ledger, 5))
    fx.close()
    // The operator rewrites the settlement (a member's answer changed) and re-signs the chain.
    const db = new Database(path)
    db.defaultSafeIntegers(true)
    const last = db.prepare('SELECT * FROM log ORDER BY seq DESC LIMIT 1').get() as { seq: bigint; at: bigint; kind: string; body: string; prev: string }
    const body = last.body.replace(/"answer":"answer 0"/, '"answer":"answer 9"')
    expect(body).not.toBe(last.body)
    const e = signEntry(operator, { seq: Number(last.seq), at: Number(last.at), kind: last.kind, body, prev: last.prev })
    db.prepare('UPDATE log SET body = ?, hash = ?, sig = ? WHERE seq = ?').run(e.body, e.hash, e.sig, last.seq)
    db.close()
    await expect(verifyLedger(path)).rejects.toThrow(/not signed by its sender|does not open|signature/)
  })

  it('settles a transcript the same whether its signatures are checked here, on the pool, or by the coordinator beside it', async () => {
    const [a, b, c] = [fixture(), fixture(), fixture()]
    try {
      for (const fx of [a, b, c]) population(fx.ledger, 5)
      const msgs = playRoundMessages(a.ledger, 5)
      // What the coordinator holds is canonical: its wire bytes are what the log stores.
      for (const m of msgs) expect(m.wire.toString('utf8')).toBe(canonicalJson(m.env))
      a.ledger.settle(msgs.map((m) => m.env))
      b.ledger.settle(await b.ledger.prepare(msgs.map((m) => m.env)))
      c.ledger.settle(PreparedTranscript.fromVerified(msgs))
      expect(b.ledger.stateDigest()).toBe(a.ledger.stateDigest())
      expect(c.ledger.stateDigest()).toBe(a.ledger.stateDigest())
      expect([b.ledger.head(), c.ledger.head()]).toEqual([a.ledger.head(), a.ledger.head()])
      // A prepared transcript with a forged signature never reaches the writer.
      const forged = structuredClone(msgs.map((m) => m.env)) as { body: Record<string, unknown> }[]
      forged[3]!.body.c = 'ab'.repeat(32)
      await expect(b.ledger.prepare(forged)).rejects.toMatchObject({ code: 'INVALID_TRANSCRIPT' })
    } finally {
      for (const fx of [a, b, c]) fx.close()
    }
  })

  it('settles the rounds that arrive together in one write, each on its own: one refused changes nothing, the others hold and replay', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-ledger-'))
    const path = join(dir, 'ledger.sqlite')
    const [fx, one] = [fixture(path), fixture()]
    try {
      for (const l of [fx.ledger, one.ledger]) population(l, 5)
      const [a, b] = [1, 2].map((coordSeq) => playRound(fx.ledger, 5, { coordSeq }))
      // A transcript without its Result: every envelope opens, and the round does not verify.
      const cut = await fx.ledger.prepare(b!.slice(0, -1))
      const [pa, pb] = await Promise.all([a!, b!].map((t) => fx.ledger.prepare(t)))
      const before = fx.ledger.head()
      const results = fx.ledger.settleAll([{ transcript: pa! }, { transcript: cut }, { transcript: pa! }, { transcript: pb! }])
      expect(results.map((r) => (r instanceof LedgerError ? r.code : 'settled'))).toEqual(['settled', 'INVALID_TRANSCRIPT', 'ALREADY_SETTLED', 'settled'])
      const written = fx.ledger.entries(1, 1_000).filter((e) => e.seq > Number(fx.ledger.snapshotAt(before)!.seq))
      expect(written.map((e) => e.kind)).toEqual(['settle', 'settle'])
      // The same as settling the two one at a time.
      for (const t of [a!, b!]) one.ledger.settle(t)
      expect(fx.ledger.stateDigest()).toBe(one.ledger.stateDigest())
      fx.close()
      expect(await verifyLedger(path)).toMatchObject({ settlements: 2 })
    } finally {
      if (fx.ledger.isOpen) fx.close()
      one.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('hands out the standing at a head as the change from any earlier head, which merges to the whole', () => {
    const fx = fixture()
    try {
      const { ledger } = fx
      const heads = [ledger.head()]
      const { nodes } = population(ledger, 5)
      heads.push(ledger.head())
      ledger.settle(playRound(ledger, 5))
      heads.push(ledger.head())
      // A key rotated, a node unbonded below the minimum stake, a new gateway.
      ledger.submit(signRequest(nodes[0]!, 2, { op: 'rotate', newKey: ident('rotated').id }))
      heads.push(ledger.head())
      ledger.submit(signRequest(nodes[1]!, 2, { op: 'unbond', amount: '1500000' }))
      heads.push(ledger.head())
      ledger.submit(signRequest(ident('gateway-2'), 0, { op: 'register', kind: 'gateway' }))
      heads.push(ledger.head())
      ledger.settle(playRound(ledger, 5))
      heads.push(ledger.head())
      for (let i = 0; i < heads.length; i++) {
        for (let j = i; j < heads.length; j++) {
          const change = ledger.standingSince(heads[i]!, heads[j]!)!
          expect(change.base).toBe(heads[i])
          expect(mergeSnapshot(ledger.snapshotAt(heads[i]!)!, change)).toEqual(ledger.snapshotAt(heads[j]!))
        }
        if (i > 0) expect(ledger.standingSince(heads[i]!, heads[i - 1]!)).toBeUndefined()
      }
      // One settled round changes a few accounts, not the network.
      const last = ledger.standingSince(heads.at(-2)!, heads.at(-1)!)!
      expect(last.nodes.length + last.gateways.length).toBeLessThanOrEqual(5)
    } finally {
      fx.close()
    }
  })

  it('refuses a file signed by another operator', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-ledger-'))
    const path = join(dir, 'l.sqlite')
    fixture(path).close()
    const other = identityFromSeed(Buffer.alloc(32, 9))
    expect(() => SqliteLedger.open({ path, operator: other })).toThrow(/operator/)
  })

  it('migrates a file written before beacons: it opens, settles rounds, and replays', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-ledger-'))
    const path = join(dir, 'l.sqlite')
    const old = fixture(path)
    population(old.ledger, 4)
    old.close()
    // As the last release left it: schema 3, no beacon tables.
    const db = new Database(path)
    db.exec('DROP TABLE min_stakes; DROP TRIGGER accounts_claim_insert; DROP TRIGGER accounts_claim_update; DROP TABLE entry_deltas; DROP TABLE applying; DROP TABLE beacons; DROP TABLE open_rounds; DROP TABLE expired_rounds; DROP TABLE ticket_locks; DROP TABLE lock_rounds; DROP TABLE challenges; DROP TABLE hidden_items; ALTER TABLE reputation DROP COLUMN cal_right; ALTER TABLE reputation DROP COLUMN cal_total; ALTER TABLE reputation DROP COLUMN calibrated; ALTER TABLE reputation DROP COLUMN cal_failures; ALTER TABLE reputation DROP COLUMN cal_retry_at; ALTER TABLE standing DROP COLUMN answer_rounds; ALTER TABLE accounts DROP COLUMN released; ALTER TABLE accounts DROP COLUMN payout; PRAGMA user_version = 3')
    db.close()
    const again = fixture(path)
    again.ledger.settle(playRound(again.ledger, 4))
    again.close()
    expect((await verifyLedger(path)).settlements).toBe(1)
  })

  it('retires rules by the operator’s log entry: older rounds stop settling, the change survives a reopen and replays', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-retire-'))
    const path = join(dir, 'l.sqlite')
    try {
      const fx = fixture(path)
      population(fx.ledger, 4)
      fx.ledger.settle(playRound(fx.ledger, 4))
      const round = playRound(fx.ledger, 4)
      expect(() => fx.ledger.retireRules(1)).toThrow(/only move up/)
      expect(() => fx.ledger.retireRules(99)).toThrow(/only move up/)
      fx.ledger.retireRules(2)
      expect(() => fx.ledger.settle(round)).toThrow(/rules version 1 is older than the oldest this ledger still settles \(2\)/)
      expect(fx.ledger.snapshotAt(fx.ledger.head())!.oldestRules).toBe(2)
      fx.close()
      const again = SqliteLedger.open({ path, operator })
      expect(again.rules().oldestRules).toBe(2)
      again.close()
      expect((await verifyLedger(path)).settlements).toBe(1)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('settles no round by rules older than the oldest its genesis names live', () => {
    const ledger = SqliteLedger.open({ path: ':memory:', operator, rules: { oldestRules: 2 } })
    try {
      population(ledger, 4)
      const head = ledger.head()
      expect(() => ledger.settle(playRound(ledger, 4))).toThrow(/rules version 1 is older than the oldest this ledger still settles \(2\)/)
      expect(ledger.head()).toBe(head)
      expect(ledger.rules().oldestRules).toBe(2)
    } finally {
      ledger.close()
    }
  })
})
