import { describe, expect, it } from 'vitest'
import { hashParts } from '../../src/crypto/hash.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { signBeaconRequest } from '../../src/ledger/beaconRequest.js'
import { MAX_EXPIRIES_PER_WRITE, SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import { signEnvelope } from '../../src/protocol/envelope.js'
import { CURRENT_RULES } from '../../src/protocol/rulesVersions.js'
import { CoordinatorRound } from '../../src/round/coordinator.js'
import { selectMembers } from '../../src/round/rules.js'
import { GATE_OFF, population } from './compliance.js'

/**
 * "Abort after the beacon and re-query": a coordinator that sees whom the members beacon seated,
 * drops the round unless its friends hold the seats, and asks again. Each new Query is a new round
 * with a new beacon nobody knew, so every attempt seats friends by chance alone, asking the same
 * round again returns the same beacon, and every abandoned attempt costs the gateway its fee.
 */
const operator = identityFromSeed(Buffer.from(hashParts('abort-grind-operator'), 'hex'))
const JOINERS = 20
const SEATS = 5
const ATTEMPTS = 80
const FEE = 100_000n

describe('aborting after the beacon and asking again', () => {
  it('buys seats at chance only, one forfeited fee per try', () => {
    let t = 1_800_000_000_000
    const ledger = SqliteLedger.open({ path: ':memory:', operator, now: () => t, rules: { ...GATE_OFF, settleWithinMs: 60_000 } })
    try {
      const { gateway, nodes } = population(ledger, JOINERS)
      const friends = new Set(nodes.slice(0, SEATS).map((n) => n.id))
      const deposit = ledger.account(gateway.id)!.stake
      let seats = 0
      for (let a = 0; a < ATTEMPTS; a++) {
        t += 10
        const { round } = CoordinatorRound.start(
          { identity: gateway, ledger: ledger.viewAt(ledger.head())!, rules: CURRENT_RULES },
          { coordSeq: a + 1, messages: [{ role: 'user', content: 'the same question, asked again' }], minMembers: 3, maxMembers: SEATS, fee: FEE.toString(), ticket: '10000', durations: { join: 100, commit: 100, reveal: 100, verdictCommit: 100, verdictReveal: 100 } },
          hashParts('r0', String(a)),
          t,
        )
        const query = round.query
        ledger.lockTickets(nodes.map((n) => ({ query: query.env, join: signEnvelope(n, { type: 'Join', round: query.env.round, seq: 1, body: { ticket: '10000' } }).env })))
        const beacon = ledger.beacon(signBeaconRequest(gateway, query, 'members', hashParts('any seal')))
        // Asking again for the same round is no re-roll.
        expect(ledger.beacon(signBeaconRequest(gateway, query, 'members', hashParts('another seal'))).value).toBe(beacon.value)
        const seated = selectMembers(query.env.round, nodes.map((n) => n.id).sort(), SEATS, beacon.value)
        seats += seated.filter((id) => friends.has(id)).length
        // The coordinator does not like what it sees: it drops the round and asks again.
      }
      // Chance: 5 seats × 5/20 = 1.25 friends a try (a binomial-ish spread over 80 tries).
      expect(seats / ATTEMPTS).toBeGreaterThan(0.8)
      expect(seats / ATTEMPTS).toBeLessThan(1.8)
      // Every abandoned try expires and costs its fee, paid to nobody: at most 64 expiries before
      // any one write (a backlog does not hold a write up), the rest before the next.
      t += 10 * 60_000
      const expired = () => ledger.entries(1, 10_000).filter((e) => e.kind === 'expire').length
      ledger.credit(gateway.id, 1n)
      expect(expired()).toBe(MAX_EXPIRIES_PER_WRITE)
      ledger.credit(gateway.id, 1n)
      expect(expired()).toBe(ATTEMPTS)
      expect(ledger.supply().destroyed).toBe(FEE * BigInt(ATTEMPTS))
      expect(ledger.account(gateway.id)!.stake).toBe(deposit - FEE * BigInt(ATTEMPTS))
    } finally {
      ledger.close()
    }
  })
})
