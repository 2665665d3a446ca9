import { describe, expect, it } from 'vitest'
import { workspaceRules } from '../../src/cli/calibrationGate.js'
import { createEmbeddedSwarm } from '../../src/cli/embeddedSwarm.js'
import { startGateway } from '../../src/cli/up.js'
import { hashParts } from '../../src/crypto/hash.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { Paymaster } from '../../src/gateway/paymaster.js'
import { LedgerError } from '../../src/ledger/ledger.js'
import { LocalLedgerClient } from '../../src/ledger/localClient.js'
import { CachedLedger } from '../../src/ledger/networkLedger.js'
import { signRequest } from '../../src/ledger/requests.js'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import { InstantBackend } from '../../src/models/instant.js'
import { signEnvelope } from '../../src/protocol/envelope.js'
import { CURRENT_RULES } from '../../src/protocol/rulesVersions.js'
import { CoordinatorRound } from '../../src/round/coordinator.js'
import type { BeaconPhase } from '../../src/round/beacons.js'
import { verifyTranscript } from '../../src/round/verify.js'

/**
 * `chorus.operators`: a client restricts its round to the nodes of operators it names. The Query
 * signs the list; nodes of other operators do not join, the coordinator refuses their Joins, the
 * ledger refuses to lock their tickets, and verification refuses a transcript that admitted one.
 */
const key = (label: string) => identityFromSeed(Buffer.from(hashParts('operators-e2e', label), 'hex'))

async function network() {
  const operator = key('ledger-operator')
  const gateway = key('gateway')
  const opA = key('operator-a')
  const opB = key('operator-b')
  const nodes = [0, 1, 2, 3, 4, 5].map((i) => key(`node-${i}`))
  const ledger = SqliteLedger.open({ path: ':memory:', operator, rules: workspaceRules(false) })
  ledger.submit(signRequest(gateway, 0, { op: 'register', kind: 'gateway' }))
  ledger.credit(gateway.id, 10_000_000n)
  ledger.submit(signRequest(gateway, 1, { op: 'stake', amount: '10000000' }))
  for (const op of [opA, opB]) ledger.submit(signRequest(op, 0, { op: 'register', kind: 'operator' }))
  // Nodes 0–2 belong to operator A, 3–5 to operator B.
  nodes.forEach((n, i) => {
    ledger.submit(signRequest(n, 0, { op: 'register', kind: 'node', operator: (i < 3 ? opA : opB).id }))
    ledger.credit(n.id, 1_000_000n)
    ledger.submit(signRequest(n, 1, { op: 'stake', amount: '1000000' }))
  })
  const client = new LocalLedgerClient(ledger)
  const net = await CachedLedger.connect(client)
  const paymaster = new Paymaster({ identity: gateway, ledger: net, client, terms: { fee: 10_000n, ticket: 10_000n } })
  const swarm = createEmbeddedSwarm({ nodes: 6, backendFor: (id) => new InstantBackend(id.id), ledger: net, paymaster, client, identities: { coordinator: gateway, node: (i) => nodes[i]! }, durations: { join: 400, commit: 2_000, reveal: 2_000, verdictCommit: 2_000, verdictReveal: 2_000 } })
  return { ledger, swarm, opA, opB, nodes, gateway }
}

describe('a round restricted to named operators', () => {
  it("seats only their nodes; the Query signs the list; the transcript verifies, and would not with another operator's node", async () => {
    const { ledger, swarm, opA, nodes } = await network()
    try {
      const r = await swarm.ask('What is 6 × 7?', { operators: [opA.id], joinTarget: 3 })
      const query = r.transcript[0]!.env.body as { operators?: string[]; ledgerHead: string }
      expect(query.operators).toEqual([opA.id])
      const joined = r.transcript.filter((m) => m.env.type === 'Join').map((m) => m.env.from)
      expect(new Set(joined)).toEqual(new Set(nodes.slice(0, 3).map((n) => n.id)))
      const beacons = (round: string, phase: BeaconPhase) => ledger.beaconOf(round, phase)
      const view = ledger.viewAt(query.ledgerHead)!
      expect(view.operatorOf(nodes[4]!.id)).not.toBe(opA.id)
      expect(verifyTranscript(r.transcript.map((m) => m.env), { ledger: view, beacons }).root).toBe(r.result.env.body.root)
      // Read by a standing in which node 0 belongs to another operator, the same transcript admitted a node it should not have.
      const moved = { ...view, operatorOf: (n: string) => (n === nodes[0]!.id ? 'ff'.repeat(32) : view.operatorOf(n)) }
      expect(() => verifyTranscript(r.transcript.map((m) => m.env), { ledger: moved, beacons })).toThrow(/operator the Query did not name/)

      // Without the restriction every node joins.
      const open = await swarm.ask('What is 6 × 7?')
      expect(open.transcript.filter((m) => m.env.type === 'Join')).toHaveLength(6)
    } finally {
      await swarm.stop()
      ledger.close()
    }
  })

  it("the ledger will not lock another operator's node into a restricted round", async () => {
    const { ledger, swarm, opA, nodes, gateway } = await network()
    try {
      // A restricted Query whose joins are still open; node 4 (operator B) and node 0 (A) lock.
      const { round } = CoordinatorRound.start(
        { identity: gateway, ledger: ledger.viewAt(ledger.head())!, rules: CURRENT_RULES },
        { coordSeq: 1, messages: [{ role: 'user', content: 'q' }], minMembers: 3, maxMembers: 3, fee: '10000', ticket: '10000', operators: [opA.id], durations: { join: 60_000, commit: 60_000, reveal: 60_000, verdictCommit: 60_000, verdictReveal: 60_000 } },
        'ab'.repeat(32),
        Date.now(),
      )
      const joinOf = (i: number) => signEnvelope(nodes[i]!, { type: 'Join', round: round.roundId, seq: 0, body: { ticket: '10000' } }).env
      const [outsider, insider] = ledger.lockTickets([{ query: round.query.env, join: joinOf(4) }, { query: round.query.env, join: joinOf(0) }])
      expect(outsider).toBeInstanceOf(LedgerError)
      expect((outsider as LedgerError).message).toMatch(/belongs to an operator the round does not allow/)
      expect(insider).not.toBeInstanceOf(LedgerError)
    } finally {
      await swarm.stop()
      ledger.close()
    }
  })

  it('is refused with a 400 naming chorus.operators where the gateway has no ledger, and when malformed', async () => {
    const gw = await startGateway({ host: '127.0.0.1', port: 0, nodes: 3, models: [], apiKeys: [], answerSeconds: 5, maxRounds: 2 }, [0, 1, 2].map((i) => new InstantBackend(`n${i}`)))
    try {
      for (const operators of [['ab'.repeat(32)], ['nothex'], []]) {
        const res = await fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content: 'hi' }], chorus: { operators } }) })
        expect(res.status).toBe(400)
        expect(((await res.json()) as { error: { param: string } }).error.param).toBe('chorus.operators')
      }
    } finally {
      await gw.close()
    }
  })
})
