import { describe, expect, it } from 'vitest'
import { hashParts } from '../../src/crypto/hash.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { signBeaconRequest } from '../../src/ledger/beaconRequest.js'
import { LocalLedgerClient } from '../../src/ledger/localClient.js'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import { takeCalibration } from '../../src/node/calibration.js'
import { CURRENT_RULES } from '../../src/protocol/rulesVersions.js'
import { genesisLedgerView } from '../../src/round/ledgerView.js'
import { Harness, ident } from '../round/harness.js'
import { population } from './compliance.js'
import { capableJudge, coin, guessingJudge } from './judges.js'

/**
 * The Sybil acceptance test of proof of capability: ten staked identities of one weak model (they
 * all give the same wrong answer, judge at random when challenged, and favour each other's answer
 * when they judge) against five honest nodes whose judges are right 80 % of the time. On a ledger
 * with the calibration gate and rules 3, every round is run, settled and learned from in turn.
 */
const operator = identityFromSeed(Buffer.from(hashParts('sybil-operator'), 'hex'))
const HONEST = 5
const SYBILS = 10
const ROUNDS = 40
const RIGHT = 'The answer is 42.'
const WRONG = 'The answer is 41.'
// Keys derived once: a key from a seed costs about a millisecond.
const HONEST_IDS = new Set(Array.from({ length: HONEST }, (_, i) => ident(`node-${i}`).id))
const honest = (id: string) => HONEST_IDS.has(id)


/** Honest judges prefer the right answer 80 % of the time; Sybils always prefer their own side's. */
function verdictOf(round: number) {
  return (judge: { id: string }, a: string, b: string): 'A' | 'B' | 'T' => {
    if (honest(a) === honest(b)) return 'T'
    const rightIsA = honest(a)
    if (!honest(judge.id)) return rightIsA ? 'B' : 'A'
    const correct = coin(String(round), judge.id, a, b) < 0.8
    return correct === rightIsA ? 'A' : 'B'
  }
}

describe('Sybil resistance', () => {
  it('ten staked identities of one weak model flip the honest winner in under 5 % of rounds (without the ledger: every round)', async () => {
    let t = 1_800_000_000_000
    const ledger = SqliteLedger.open({ path: ':memory:', operator, now: () => t })
    try {
      const { gateway, nodes } = population(ledger, HONEST + SYBILS)
      const client = new LocalLedgerClient(ledger)
      // Proof of capability: the honest pass; the weak model's identities do not.
      for (const [i, node] of nodes.entries()) {
        const backend = i < HONEST ? capableJudge(operator) : guessingJudge(`weak ${node.id}`)
        const s = await takeCalibration({ identity: node, client, backend, now: () => t })
        expect(s.state).toBe(i < HONEST ? 'passed' : 'failed')
      }
      const answer = (_n: unknown, i: number) => (i < HONEST ? RIGHT : WRONG)
      let flipped = 0
      let unprotected = 0
      for (let r = 0; r < ROUNDS; r++) {
        t += 10_000
        const h = new Harness({
          nodes: HONEST + SYBILS,
          ledger: ledger.viewAt(ledger.head())!,
          now: t,
          rules: CURRENT_RULES,
          request: { coordSeq: r + 1, fee: '1000000', ticket: '10000', maxMembers: HONEST + SYBILS, messages: [{ role: 'user', content: `question ${r}` }] },
          beacon: (phase, seal, query) => ledger.beacon(signBeaconRequest(gateway, query, phase, seal)),
          locks: (_n, join, query) => ledger.lockTicket({ query: query.env, join: join.env }).seq > 0,
          answer,
          verdict: verdictOf(r),
        })
        expect(h.outcome?.outcome.ranked).toBe(true)
        if (h.outcome!.outcome.answer === WRONG) flipped++
        ledger.settle(h.outcome!.transcript.map((m) => m.env))
        // The same members on no ledger (rules 1: every judge weighs the same, support by count).
        const bare = new Harness({ nodes: HONEST + SYBILS, ledger: genesisLedgerView(), answer, verdict: verdictOf(r), request: { coordSeq: r + 1, messages: [{ role: 'user', content: `question ${r}` }] } })
        if (bare.outcome!.outcome.answer === WRONG) unprotected++
      }
      // Measured: 0 of 40 on the ledger; 40 of 40 without it.
      expect(flipped / ROUNDS).toBeLessThan(0.05)
      expect(unprotected / ROUNDS).toBeGreaterThan(0.9)
      // The Sybils never judged: they weigh nothing.
      const view = ledger.viewAt(ledger.head())!
      expect(nodes.slice(HONEST).every((n) => view.judgeWeight(n.id) === 0)).toBe(true)
    } finally {
      ledger.close()
    }
  }, 60_000)
})
