import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createEmbeddedSwarm } from '../../src/cli/embeddedSwarm.js'
import { enrolSwarm } from '../../src/cli/workspaceLedger.js'
import { hashParts } from '../../src/crypto/hash.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { Paymaster } from '../../src/gateway/paymaster.js'
import { SettlementOutbox } from '../../src/gateway/settlementOutbox.js'
import { HttpLedgerClient } from '../../src/ledger/httpLedgerClient.js'
import { createLedgerServer } from '../../src/ledger/ledgerServer.js'
import { CachedLedger } from '../../src/ledger/networkLedger.js'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import { InstantBackend } from '../../src/models/instant.js'

const key = (label: string) => identityFromSeed(Buffer.from(hashParts('outbox-test', label), 'hex'))
const operator = key('operator')
const gateway = key('gateway')
const nodes = [0, 1, 2].map((i) => key(`node-${i}`))
const durations = { join: 200, commit: 1_000, reveal: 1_000, verdictCommit: 1_000, verdictReveal: 1_000 }

describe('the settlement outbox', () => {
  let dir: string
  let ledger: SqliteLedger
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chorus-outbox-'))
    // A swarm without the ledger's beacons runs rules 1: this ledger still settles them.
    ledger = SqliteLedger.open({ path: ':memory:', operator, rules: { oldestRules: 1 } })
    enrolSwarm(ledger, operator, gateway, nodes)
  })
  afterEach(async () => {
    ledger.close()
    await rm(dir, { recursive: true, force: true })
  })

  /** A gateway run: its paymaster on `outboxPath`, its swarm, against the ledger at `url`. */
  async function gatewayRun(url: string, outboxPath: string) {
    const client = new HttpLedgerClient(url, 500)
    const network = await CachedLedger.connect(client)
    const outbox = SettlementOutbox.open(outboxPath)
    const paymaster = new Paymaster({ identity: gateway, ledger: network, client, outbox, retryDelaysMs: [50, 50], resendEveryMs: 200, onError: () => {} })
    const swarm = createEmbeddedSwarm({ nodes: 3, backendFor: (id) => new InstantBackend(id.id), ledger: network, paymaster, identities: { coordinator: gateway, node: (i) => nodes[i]! }, durations })
    const stop = async () => {
      await swarm.stop()
      await paymaster.drain()
      outbox.close()
    }
    return { paymaster, swarm, outbox, stop }
  }

  it('keeps what the ledger could not take across a restart of the gateway, and sends it then', async () => {
    let server = createLedgerServer({ ledger })
    const url = await server.listen({ host: '127.0.0.1', port: 0 })
    const port = Number(new URL(url).port)
    const path = join(dir, 'outbox.sqlite')
    const first = await gatewayRun(url, path)
    await server.close()
    const before = ledger.head()
    const asked = await first.swarm.ask('owed across a restart')
    // On disk by the time the answer is out: a kill -9 from here on loses nothing.
    const owedRows = () => new Database(path, { readonly: true }).prepare('SELECT round FROM owed').all()
    expect(owedRows()).toEqual([{ round: asked.roundId }])
    // Retries give up while the ledger is down; the debt stays on disk.
    expect(await asked.settlement).toBeUndefined()
    expect(first.paymaster.owed).toBe(1)
    expect(first.paymaster.results.get('failed')).toBe(0)
    await first.stop()
    expect(ledger.head()).toBe(before)
    expect(owedRows()).toEqual([{ round: asked.roundId }])

    server = createLedgerServer({ ledger })
    await server.listen({ host: '127.0.0.1', port })
    const second = await gatewayRun(url, path)
    try {
      expect(second.paymaster.resume()).toBe(1)
      await waitFor(() => second.paymaster.results.get('settled') === 1)
      expect(ledger.entries(1, 10_000).some((e) => e.kind === 'settle' && e.body.includes(asked.roundId))).toBe(true)
      expect(second.outbox.size).toBe(0)
    } finally {
      await second.stop()
      await server.close()
    }
  }, 30_000)

  it('counts a round the ledger already has as settled (an earlier attempt got through, its answer did not)', async () => {
    const server = createLedgerServer({ ledger })
    const url = await server.listen({ host: '127.0.0.1', port: 0 })
    const path = join(dir, 'outbox.sqlite')
    const run = await gatewayRun(url, path)
    try {
      const asked = await run.swarm.ask('settled twice')
      await asked.settlement
      expect(run.paymaster.results.get('settled')).toBe(1)
      // The same debt sent again, as after a lost response: the ledger refuses it as settled.
      const entry = ledger.entries(1, 10_000).find((e) => e.kind === 'settle' && e.body.includes(asked.roundId))!
      const owed = JSON.parse(entry.body) as { charge: never; transcript: unknown[] }
      const db = new Database(path)
      db.prepare('INSERT INTO owed (round, transcript, charge, fee, at) VALUES (?, ?, ?, ?, 0)').run(asked.roundId, JSON.stringify(owed.transcript), JSON.stringify(owed.charge), '0')
      db.close()
      const head = ledger.head()
      await waitFor(() => run.paymaster.results.get('settled') === 2, 5_000, () => run.paymaster.resume())
      expect(run.paymaster.results.get('failed')).toBe(0)
      expect(run.outbox.size).toBe(0)
      expect(ledger.head()).toBe(head)
    } finally {
      await run.stop()
      await server.close()
    }
  }, 30_000)

  it('does not open again what is still being delivered: a sweep fills its batch with the others', async () => {
    const path = join(dir, 'outbox.sqlite')
    const outbox = SettlementOutbox.open(path)
    outbox.close()
    const db = new Database(path)
    // Three entries, two of them damaged: an entry is only found unreadable when it is opened.
    const put = db.prepare('INSERT INTO owed (round, transcript, charge, fee, at) VALUES (?, ?, ?, ?, ?)')
    put.run('aa'.repeat(32), '[{"not":"an envelope"}]', '{}', '0', 1)
    put.run('bb'.repeat(32), '[{"not":"an envelope"}]', '{}', '0', 2)
    put.run('cc'.repeat(32), '[{"not":"an envelope"}]', '{}', '0', 3)
    db.close()
    const reopened = SettlementOutbox.open(path)
    const opened: string[] = []
    // The first is in flight: skipped, not opened (so not dropped); the batch of one takes the next.
    reopened.owed(1, (round) => opened.push(round), (round) => round === 'aa'.repeat(32))
    expect(opened).toEqual(['bb'.repeat(32)])
    expect(reopened.size).toBe(2)
    reopened.close()
  })

  it('drops, and reports, an entry that no longer opens (a damaged file settles nothing)', async () => {
    const path = join(dir, 'outbox.sqlite')
    const outbox = SettlementOutbox.open(path)
    outbox.close()
    const db = new Database(path)
    db.prepare('INSERT INTO owed (round, transcript, charge, fee, at) VALUES (?, ?, ?, ?, 0)').run('ab'.repeat(32), '[{"not":"an envelope"}]', '{}', '0')
    db.close()
    const reopened = SettlementOutbox.open(path)
    const reasons: string[] = []
    expect(reopened.owed(10, (_round, reason) => reasons.push(reason))).toEqual([])
    expect(reasons).toHaveLength(1)
    expect(reopened.size).toBe(0)
    reopened.close()
  })
})

async function waitFor(ok: () => boolean, ms = 10_000, first?: () => void): Promise<void> {
  first?.()
  const t0 = Date.now()
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
}
