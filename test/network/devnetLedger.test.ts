import { CURRENT_RULES } from '../../src/protocol/rulesVersions.js'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Devnet } from '../../src/cli/devnet.js'
import { HttpLedgerClient } from '../../src/ledger/httpLedgerClient.js'
import { verifyLedger } from '../../src/ledger/verifyLedger.js'
import { verifyTranscript } from '../../src/round/verify.js'
import { standingOf } from '../../src/ledger/standing.js'

/**
 * A multi-process devnet on a served ledger: the gateway and node processes read it over HTTP
 * (`--ledger`), every round settles there, the API shows each node's standing, and the file
 * replays afterwards.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any
const dir = mkdtempSync(join(tmpdir(), 'chorus-devnet-ledger-'))
let net: Devnet

beforeAll(async () => {
  net = new Devnet({ nodes: 3, model: 'test:instant', answerSeconds: 2, ledgerDir: dir })
  await net.start()
}, 90_000)
afterAll(() => net?.stop())

describe('a devnet on a served ledger', () => {
  it('settles every round it runs, verifiably, and shows the nodes’ standing', async () => {
    const client = new HttpLedgerClient(net.ledgerUrl)
    const before = (await client.latest()).seq
    const rounds: Json[] = []
    for (let r = 0; r < 2; r++) {
      // The second round is private: its prompt goes over libp2p to the seated members alone.
      const res = await fetch(`${net.apiUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content: `paid question ${r}` }], ...(r === 1 ? { chorus: { private: true } } : {}) }) })
      expect(res.status).toBe(200)
      rounds.push(await res.json())
      expect(rounds[r].chorus.private).toBe(r === 1)
    }
    // Settlement follows the answer; wait for both. Each round also took two beacons (and the
    // first, the beacon chain's start).
    const settled = async () => (await client.entries(before + 1, 100)).filter((e) => e.kind === 'settle').length
    const end = Date.now() + 10_000
    while ((await settled()) < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 100))
    expect(await settled()).toBe(2)
    expect((await client.entries(before + 1, 100)).filter((e) => e.kind === 'beacon')).toHaveLength(4)
    for (const body of rounds) {
      expect(body.usage.total_tokens).toBeGreaterThan(0)
      const t = (await (await fetch(`${net.apiUrl}/rounds/${body.chorus.round}`)).json()) as Json
      const head = t.envelopes[0].body.ledgerHead
      const view = standingOf((await client.standingAt(head))!)
      expect(t.envelopes[0].body.rules.version).toBe(CURRENT_RULES.version)
      const issued = { members: await client.beaconOf(body.chorus.round, 'members'), assignment: await client.beaconOf(body.chorus.round, 'assignment') }
      const verified = verifyTranscript(t.envelopes, { ledger: view, beacons: (_r, phase) => issued[phase] })
      expect(verified.outcome.winner).toBe(body.chorus.winner)
      expect(verified.prompt[0]!.content).toMatch(/^paid question/)
      expect(t.envelopes.some((e: Json) => e.type === 'Prompt')).toBe(body.chorus.private)
    }
    const nodes = ((await (await fetch(`${net.apiUrl}/nodes`)).json()) as Json).data
    expect(nodes).toHaveLength(3)
    // Each node is staked the minimum (1 unit) and a cushion of 1 (WORKSPACE_FUNDS); tiny models judge, so nothing is forfeit.
    for (const n of nodes) expect(n.ledger).toMatchObject({ eligible: true, stake: '2000000', rounds: expect.any(Number) })
    await net.stop()
    expect((await verifyLedger(join(dir, '.chorus', 'ledger.sqlite'))).settlements).toBe(2)
  }, 60_000)
})
