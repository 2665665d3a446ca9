import { describe, expect, it } from 'vitest'
import { createEmbeddedSwarm } from '../src/cli/embeddedSwarm.js'
import { InstantBackend } from '../src/models/instant.js'
import { genesisLedgerView } from '../src/round/ledgerView.js'
import { verifyTranscript } from '../src/round/verify.js'

describe('smoke', () => {
  it('runs a 7 node round', async () => {
    const swarm = createEmbeddedSwarm({ nodes: 7, backendFor: (id) => new InstantBackend(id.id), keySeed: 'smoke' })
    const r = await swarm.ask('what is 2+2?')
    console.log(r.outcome, r.transcript.length)
    const v = verifyTranscript(r.transcript.map((m) => m.env), { ledger: genesisLedgerView(), maxJudgeShare: 0.25 })
    expect(v.outcome.winner).toBe(r.outcome.winner)
    await swarm.stop()
  })
})
