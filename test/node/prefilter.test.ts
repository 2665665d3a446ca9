import { describe, expect, it } from 'vitest'
import { workspaceRules } from '../../src/cli/calibrationGate.js'
import { createEmbeddedSwarm } from '../../src/cli/embeddedSwarm.js'
import { hashParts } from '../../src/crypto/hash.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { Paymaster } from '../../src/gateway/paymaster.js'
import { LocalLedgerClient } from '../../src/ledger/localClient.js'
import { CachedLedger } from '../../src/ledger/networkLedger.js'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import type { CallOptions } from '../../src/models/backend.js'
import { InstantBackend } from '../../src/models/instant.js'
import type { Envelope } from '../../src/protocol/envelope.js'
import type { ChatMessage } from '../../src/protocol/messages.js'
import { PREFILTER_RULES } from '../../src/protocol/rulesVersions.js'
import type { BeaconPhase } from '../../src/round/beacons.js'
import { verifyTranscript } from '../../src/round/verify.js'
import { population } from '../ledger/compliance.js'

/**
 * The GOOD/BAD prefilter end to end: nodes on a real ledger judge a round where one member answers
 * in symbol soup; its judges mark it in their signed verdicts, the round leaves it out, the ledger
 * takes its ticket, and the transcript verifies. Judges with the prefilter off mark nothing.
 */
const key = (label: string) => identityFromSeed(Buffer.from(hashParts('prefilter-e2e', label), 'hex'))
const SOUP = '⟁⟁⟁ ∰∰∰ ⟁⟁⟁ ⨌⨌⨌'

class Fixed extends InstantBackend {
  constructor(private readonly reply: string) {
    super('fixed')
  }
  override async answer(_m: readonly ChatMessage[], options: CallOptions = {}): Promise<string> {
    options.onUsage?.({ prompt: 5, completion: 5 })
    return this.reply
  }
}

async function round(prefilter: boolean) {
  // No calibration gate: the instant backends' judges weigh from the start.
  const ledger = SqliteLedger.open({ path: ':memory:', operator: key('operator'), rules: workspaceRules(false) })
  const { gateway, nodes } = population(ledger, 5, 1_000_000n)
  const client = new LocalLedgerClient(ledger)
  const network = await CachedLedger.connect(client)
  const paymaster = new Paymaster({ identity: gateway, ledger: network, client, terms: { fee: 10_000n, ticket: 10_000n } })
  const replies = ['The answer is 51.', 'It is 51.', 'I get 52.', 'Surely 50.', SOUP]
  const swarm = createEmbeddedSwarm({ nodes: 5, backendFor: (_id, i) => new Fixed(replies[i]!), ledger: network, paymaster, client, identities: { coordinator: gateway, node: (i) => nodes[i]! }, prefilter })
  try {
    const r = await swarm.ask('Each box holds 17 apples. How many apples are in 3 boxes?')
    const receipt = await r.settlement
    const head = (r.transcript[0]!.env.body as { ledgerHead: string }).ledgerHead
    const verified = verifyTranscript(
      r.transcript.map((m) => m.env),
      { ledger: ledger.viewAt(head)!, beacons: (round: string, phase: BeaconPhase) => ledger.beaconOf(round, phase) },
    )
    return { r, receipt, verified, soup: nodes[4]!.id }
  } finally {
    await swarm.stop()
    ledger.close()
  }
}

describe('the GOOD/BAD prefilter in live rounds (rules 4)', () => {
  it("marks symbol soup in the judges' signed verdicts; the round leaves it out and the ledger takes its ticket", async () => {
    const { r, receipt, verified, soup } = await round(true)
    expect((r.transcript[0]!.env.body as { rules: { version: number } }).rules.version).toBeGreaterThanOrEqual(PREFILTER_RULES)
    const verdicts = r.transcript.filter((m) => m.env.type === 'VerdictReveal').flatMap((m) => (m.env as Envelope<'VerdictReveal'>).body.verdicts)
    const onSoup = verdicts.filter((v) => v.a === soup || v.b === soup)
    expect(onSoup.length).toBeGreaterThan(0)
    // Every verdict on the soup marks it and prefers the other answer; no other answer is marked.
    for (const v of onSoup) expect(v).toMatchObject(v.a === soup ? { g: 1, v: 'B' } : { g: 2, v: 'A' })
    expect(verdicts.filter((v) => v.a !== soup && v.b !== soup).every((v) => v.g === undefined)).toBe(true)
    expect(r.outcome.excluded).toEqual([soup])
    expect(r.outcome.scores.map((s) => s.node)).not.toContain(soup)
    expect(verified.outcome.excluded).toEqual([soup])
    expect(verified.root).toBe(r.result.env.body.root)
    expect(receipt?.forfeits).toEqual({ [soup]: 10_000n })
  })

  it('with the prefilter off, judges mark nothing and the soup is ranked (last)', async () => {
    const { r, receipt, soup } = await round(false)
    const verdicts = r.transcript.filter((m) => m.env.type === 'VerdictReveal').flatMap((m) => (m.env as Envelope<'VerdictReveal'>).body.verdicts)
    expect(verdicts.every((v) => v.g === undefined)).toBe(true)
    expect(r.outcome.excluded).toEqual([])
    expect(r.outcome.scores.map((s) => s.node)).toContain(soup)
    expect(receipt?.forfeits).toEqual({})
  })
})
