import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningGateway, startGateway, type UpSettings } from '../../../src/cli/up.js'
import { openWorkspace, workspaceIdentity } from '../../../src/cli/workspaceLedger.js'
import { signRequest } from '../../../src/ledger/requests.js'
import { SqliteLedger } from '../../../src/ledger/sqliteLedger.js'
import { InstantBackend } from '../../../src/models/instant.js'
import { SCORE_SCALE } from '../../../src/protocol/limits.js'
import { ident } from '../../round/harness.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any

/**
 * The dashboard's routes on a metered `chorus up`: the page and its files are public and carry the
 * CSP; everything with data sits behind the key and shows a client only its own rounds; a round's
 * page equals its signed transcript; "verify" recomputes the stored round and catches one altered
 * in the store; the economics match the ledger; the quality page reads the reports folder.
 */
const dir = mkdtempSync(join(tmpdir(), 'chorus-dashboard-'))
const reports = join(dir, 'reports')
const alice = ident('dashboard-alice')
const bob = ident('dashboard-bob')

describe('the dashboard API', () => {
  let gw: RunningGateway
  let base: string
  const get = (key: string | undefined, path: string) => fetch(`${base}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} })
  const getJson = async (key: string, path: string): Promise<Json> => {
    const r = await get(key, path)
    expect([path, r.status]).toEqual([path, 200])
    return r.json()
  }
  const ask = async (key: string, content: string): Promise<Json> => {
    const r = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content }] }) })
    expect(r.status).toBe(200)
    return r.json()
  }
  const settings = (): UpSettings => ({
    host: '127.0.0.1', port: 0, nodes: 5, models: [], answerSeconds: 5, maxRounds: 4, ledgerDir: dir, reportsDir: reports,
    apiKeys: ['sk-operator'], keyAccounts: new Map([['sk-alice', alice.id], ['sk-bob', bob.id]]), calibration: 'off',
  })
  const instants = () => Array.from({ length: 5 }, (_, i) => new InstantBackend(`dash-${i}`))

  beforeAll(async () => {
    mkdirSync(reports)
    writeFileSync(join(reports, 'gsm.md'), '### gsm\n\n| method | q = 0.6 |\n|---|---|\n| swarm | 86.1 [84.0, 88.0] |\n\n<script>alert(1)</script>\n')
    writeFileSync(join(reports, 'gsm-sweep.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>')
    writeFileSync(join(reports, 'huge.md'), 'x'.repeat(600 * 1024))
    // The first start makes the workspace ledger (judging without calibration) and enrols the gateway.
    await (await startGateway(settings(), instants())).close()
    const ws = await openWorkspace(dir)
    const gatewayId = workspaceIdentity(ws.seed, 'gateway').id
    ws.ledger.close()
    const ledger = SqliteLedger.open({ path: ws.path, operator: ws.operator })
    for (const who of [alice, bob]) {
      ledger.submit(signRequest(who, 0, { op: 'register', kind: 'client' }))
      ledger.credit(who.id, 5_000_000n)
      ledger.submit(signRequest(who, 1, { op: 'allow', gateway: gatewayId, amount: '2000000' }))
    }
    ledger.close()
    gw = await startGateway(settings(), instants())
    base = gw.url.replace(/\/v1$/, '')
  })
  afterAll(() => gw?.close())

  it('serves the page and its files to anyone, under a CSP that allows only the gateway itself', async () => {
    const page = await get(undefined, '/')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'self'/)
    expect(page.headers.get('x-content-type-options')).toBe('nosniff')
    const html = await page.text()
    expect(html).toContain('<script type="module" src="/ui/app.js">')
    expect(html).not.toMatch(/<script>|style=/)
    for (const f of ['app.js', 'roundDetail.js', 'style.css', 'icon.svg']) expect((await get(undefined, `/ui/${f}`)).status).toBe(200)
    expect((await get(undefined, '/ui/app.js')).headers.get('content-type')).toMatch(/javascript/)
    for (const path of ['/ui/..%2F..%2Fpackage.json', '/ui/%2e%2e%2fdashboardLedger.js', '/ui/app.ts', '/ui/']) expect([path, (await get(undefined, path)).status]).toEqual([path, 404])
  })

  it('asks for the key on every data route', async () => {
    for (const path of ['/v1/dashboard/overview', '/v1/dashboard/nodes', '/v1/dashboard/rounds', '/v1/dashboard/economics', '/v1/dashboard/quality', `/v1/dashboard/rounds/${'ab'.repeat(32)}`]) {
      expect([path, (await get(undefined, path)).status]).toEqual([path, 401])
    }
    const verify = await fetch(`${base}/v1/dashboard/rounds/${'ab'.repeat(32)}/verify`, { method: 'POST' })
    expect(verify.status).toBe(401)
  })

  it('shows a round exactly as its signed transcript says, to its owner and the operator only', async () => {
    const res = await ask('sk-alice', 'What is 6 × 7?')
    const id = res.chorus.round
    const view = await getJson('sk-alice', `/v1/dashboard/rounds/${id}`)
    const transcript = await getJson('sk-alice', `/v1/rounds/${id}`)
    const result = transcript.envelopes.at(-1).body
    expect(view.winner).toBe(result.winner)
    expect(view.transcript_root).toBe(result.root)
    const scored = view.answers.filter((a: Json) => a.score !== null)
    expect(scored.map((a: Json) => [a.node, a.score, a.support])).toEqual(result.scores.map((s: Json) => [s.node, s.score / SCORE_SCALE, s.support]))
    expect(view.answers).toHaveLength(res.chorus.answers)
    expect(view.ranked).toBe(true)
    expect(view.question).toBe('What is 6 × 7?')
    expect(view.verdicts.length).toBe(res.chorus.verdicts)
    expect((await get('sk-bob', `/v1/dashboard/rounds/${id}`)).status).toBe(404)
    expect((await fetch(`${base}/v1/dashboard/rounds/${id}/verify`, { method: 'POST', headers: { authorization: 'Bearer sk-bob' } })).status).toBe(404)
    expect((await getJson('sk-bob', '/v1/dashboard/rounds')).recent).toEqual([])
    expect((await getJson('sk-bob', '/v1/dashboard/economics')).rounds).toEqual([])
    expect((await getJson('sk-operator', '/v1/dashboard/rounds')).recent.map((r: Json) => r.round)).toContain(id)
  })

  it('verifies a stored round by recomputing it, and says INVALID when the stored copy was altered', async () => {
    const res = await ask('sk-alice', 'verify me')
    const id = res.chorus.round
    const verify = () => fetch(`${base}/v1/dashboard/rounds/${id}/verify`, { method: 'POST', headers: { authorization: 'Bearer sk-alice' } }).then((r) => r.json() as Promise<Json>)
    expect(await verify()).toMatchObject({ valid: true, transcript_root: res.chorus.transcript_root, winner: res.chorus.winner, matches_stored: true })
    const stored = gw.gateway.store.get(id, Date.now())!
    const file = JSON.parse(stored.transcript)
    const reveal = file.envelopes.find((e: Json) => e.type === 'AnswerReveal')
    reveal.body.answer = `${reveal.body.answer} (edited)`
    stored.transcript = JSON.stringify(file)
    const bad = await verify()
    expect(bad.valid).toBe(false)
    expect(bad.reason).toMatch(/signature|commit/i)
    expect((await fetch(`${base}/v1/dashboard/rounds/${'cd'.repeat(32)}/verify`, { method: 'POST', headers: { authorization: 'Bearer sk-alice' } })).status).toBe(404)
  })

  it('shows what each round cost and paid as the ledger settled it, and the log’s chain head', async () => {
    const res = await ask('sk-alice', 'pay me')
    const id = res.chorus.round
    let row: Json
    for (let i = 0; i < 100 && !row?.settled; i++) {
      row = (await getJson('sk-operator', '/v1/dashboard/economics')).rounds.find((r: Json) => r.round === id)
      if (!row?.settled) await new Promise((r) => setTimeout(r, 50))
    }
    expect(row.settled).toBe(true)
    expect(row.charge_micro).toBe(res.chorus.charge_micro)
    expect(BigInt(row.paid_micro)).toBeGreaterThan(0n)
    expect(BigInt(row.paid_micro)).toBeLessThanOrEqual(BigInt(row.pool_micro))
    const econ = await getJson('sk-operator', '/v1/dashboard/economics')
    expect(econ.metered).toBe(true)
    expect(econ.log.head).toMatch(/^[0-9a-f]{64}$/)
    expect(econ.log.entries.some((e: Json) => e.kind === 'settle' && e.round === id)).toBe(true)
    expect(econ.judge_weight.judges).toBe(5)
    const page = await getJson('sk-alice', `/v1/dashboard/rounds/${id}`)
    expect(page.settlement.pool).toBe(row.pool_micro)
  })

  it('lists every node with its standing and state, and latency per phase', async () => {
    const nodes = await getJson('sk-operator', '/v1/dashboard/nodes')
    expect(nodes.nodes).toHaveLength(5)
    for (const n of nodes.nodes) {
      expect(n.health).toBe('online')
      expect(BigInt(n.ledger.stake)).toBeGreaterThan(0n)
    }
    // What the nodes earned is what the settled rounds kept here paid out.
    const econ = await getJson('sk-operator', '/v1/dashboard/economics')
    const earned = nodes.nodes.reduce((s: bigint, n: Json) => s + BigInt(n.earned_micro), 0n)
    expect(earned).toBe(BigInt(econ.totals.paid_micro))
    expect(earned).toBeGreaterThan(0n)
    const overview = await getJson('sk-operator', '/v1/dashboard/overview')
    expect(overview.nodes).toMatchObject({ total: 5, online: 5 })
    expect(overview.latency.per_phase.total.n).toBeGreaterThanOrEqual(3)
    expect(overview.live).toEqual([])
  })

  it('renders the reports folder as blocks of text, skipping what is too large', async () => {
    const q = await getJson('sk-operator', '/v1/dashboard/quality')
    const gsm = q.reports.reports.find((r: Json) => r.name === 'gsm.md')
    expect(gsm.blocks[1]).toEqual({ kind: 'table', header: ['method', 'q = 0.6'], rows: [['swarm', '86.1 [84.0, 88.0]']] })
    expect(gsm.blocks[2]).toEqual({ kind: 'paragraph', text: '<script>alert(1)</script>' })
    expect(gsm.charts.map((c: Json) => c.name)).toEqual(['gsm-sweep.svg'])
    expect(q.reports.skipped).toEqual([{ name: 'huge.md', reason: 'larger than 512 KiB' }])
  })
})
