import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Devnet } from '../../src/cli/devnet.js'
import type { AnchorTurn } from '../../src/ledger/evm/sequencer.js'
import { verifyLedger } from '../../src/ledger/verifyLedger.js'

/**
 * `chorus devnet --ledger evm`: the devnet answers through its API while its ledger anchors on
 * anvil, and the batches holding its rounds become final on the chain.
 */
const dir = mkdtempSync(join(tmpdir(), 'chorus-devnet-evm-'))
let net: Devnet
const turns: AnchorTurn[] = []
const errors: Error[] = []

beforeAll(async () => {
  net = new Devnet({ nodes: 3, model: 'test:instant', answerSeconds: 2, ledgerDir: dir, evm: { anchorMs: 300, challengeWindowS: 1, onTurn: (t) => turns.push(t), onError: (e) => errors.push(e) } })
  await net.start()
}, 90_000)
afterAll(() => net?.stop())

describe('a devnet anchored on anvil', () => {
  it('answers through the API, and the batches holding its rounds become final', async () => {
    for (let r = 0; r < 2; r++) {
      const res = await fetch(`${net.apiUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content: `anchored question ${r}` }] }) })
      expect(res.status).toBe(200)
    }
    const rounds = () => turns.reduce((n, t) => n + (t.posted?.header.rounds ?? 0), 0)
    const end = Date.now() + 20_000
    for (;;) {
      const state = await net.chain!.rollup.state()
      const posted = turns.filter((t) => t.posted !== undefined).length
      if (rounds() >= 2 && state.finalCount >= BigInt(posted) && posted > 0) break
      if (Date.now() > end) throw new Error(`after 20 s: ${rounds()} rounds in ${posted} batches, ${state.finalCount} final; errors: ${errors.map((e) => e.message).join('; ')}`)
      await new Promise((r) => setTimeout(r, 200))
    }
    expect(errors).toEqual([])
    const state = await net.chain!.rollup.state()
    expect(state.finalStateRoot).toBe(turns.filter((t) => t.posted !== undefined).at(-1)!.posted!.header.stateRoot)
    await net.stop()
    expect((await verifyLedger(net.ledgerPath ?? join(dir, '.chorus', 'ledger.sqlite'))).settlements).toBeGreaterThanOrEqual(2)
  }, 60_000)
})
