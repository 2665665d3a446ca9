import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningGateway, startGateway, type UpSettings } from '../../src/cli/up.js'
import { openWorkspace, workspaceIdentity } from '../../src/cli/workspaceLedger.js'
import { signRequest } from '../../src/ledger/requests.js'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import { verifyLedger } from '../../src/ledger/verifyLedger.js'
import { InstantBackend } from '../../src/models/instant.js'
import { ident } from '../round/harness.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any

/**
 * Metering end to end through the HTTP API on a workspace ledger: a client key pays from its
 * account within what it allowed the gateway; a short one gets 402 in OpenAI's shape before any
 * round runs; `usage` is the members' reported tokens; each client reads only its own rounds.
 */
const dir = mkdtempSync(join(tmpdir(), 'chorus-metering-'))
const alice = ident('metering-alice')
const bob = ident('metering-bob')
const carol = ident('metering-carol')

describe('metered requests', () => {
  let gw: RunningGateway
  let gatewayId: string
  const ask = (key: string, content = 'What is 6 × 7?') =>
    fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content }] }) })
  const get = (key: string, path: string) => fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${key}` } })

  beforeAll(async () => {
    const ws = await openWorkspace(dir)
    gatewayId = workspaceIdentity(ws.seed, 'gateway').id
    // The gateway must exist before clients can allow it: the first start enrols it.
    ws.ledger.close()
    const first = await startGateway(settings(), instants())
    await first.close()
    const ledger = SqliteLedger.open({ path: ws.path, operator: ws.operator })
    for (const [who, funds, allow] of [[alice, 5_000_000n, 2_000_000n], [bob, 5_000_000n, 0n], [carol, 10n, 1_000_000n]] as const) {
      ledger.submit(signRequest(who, 0, { op: 'register', kind: 'client' }))
      ledger.credit(who.id, funds)
      if (allow > 0n) ledger.submit(signRequest(who, 1, { op: 'allow', gateway: gatewayId, amount: allow.toString() }))
    }
    ledger.close()
    gw = await startGateway(
      settings({ apiKeys: ['sk-operator'], keyAccounts: new Map([['sk-alice', alice.id], ['sk-bob', bob.id], ['sk-carol', carol.id]]) }),
      instants(),
    )
  })
  afterAll(() => gw?.close())

  function settings(over: Partial<UpSettings> = {}): UpSettings {
    return { host: '127.0.0.1', port: 0, nodes: 5, models: [], apiKeys: [], answerSeconds: 5, maxRounds: 4, ledgerDir: dir, ...over }
  }
  function instants() {
    return Array.from({ length: 5 }, (_, i) => new InstantBackend(`metered-${i}`))
  }

  it('charges a client for the tokens its round used, and reports them as usage', async () => {
    const res = await ask('sk-alice')
    expect(res.status).toBe(200)
    const body: Json = await res.json()
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens)
    expect(body.usage.prompt_tokens).toBeGreaterThan(0)
    expect(BigInt(body.chorus.charge_micro)).toBeGreaterThan(0n)
  })

  it('answers 402 in OpenAI’s shape, before any round, when the payer cannot cover a request', async () => {
    const before = ((await (await get('sk-operator', '/rounds')).json()) as Json).data.length
    for (const key of ['sk-bob', 'sk-carol']) {
      const res = await ask(key)
      expect(res.status).toBe(402)
      const body: Json = await res.json()
      expect(body.error).toMatchObject({ type: 'insufficient_quota', code: 'insufficient_balance', param: null })
      expect(body.error.message).toMatch(/insufficient balance/)
    }
    expect(((await (await get('sk-operator', '/rounds')).json()) as Json).data.length).toBe(before)
  })

  it('lets a client read only its own rounds; the operator reads all', async () => {
    const mine: Json = await (await ask('sk-alice', 'mine')).json()
    const id = mine.chorus.round
    expect((await get('sk-alice', `/rounds/${id}`)).status).toBe(200)
    expect((await get('sk-bob', `/rounds/${id}`)).status).toBe(404)
    expect((await get('sk-operator', `/rounds/${id}`)).status).toBe(200)
    const bobs: Json = await (await get('sk-bob', '/rounds')).json()
    expect(bobs.data).toEqual([])
    const alices: Json = await (await get('sk-alice', '/rounds')).json()
    expect(alices.data.map((r: Json) => r.round)).toContain(id)
  })

  it('the charges reach the ledger: the client paid what the API said, the ledger replays', async () => {
    const res: Json = await (await ask('sk-alice', 'count me')).json()
    await gw.close()
    const ledger = SqliteLedger.readOnly(join(dir, '.chorus', 'ledger.sqlite'))
    try {
      const paid = 5_000_000n - ledger.account(alice.id)!.balance
      expect(paid).toBeGreaterThanOrEqual(BigInt(res.chorus.charge_micro))
      expect(2_000_000n - ledger.allowance(alice.id, gatewayId)).toBe(paid)
      expect(ledger.account(bob.id)!.balance).toBe(5_000_000n)
    } finally {
      ledger.close()
    }
    expect((await verifyLedger(join(dir, '.chorus', 'ledger.sqlite'))).settlements).toBeGreaterThanOrEqual(3)
    gw = undefined as unknown as RunningGateway
  })
})
