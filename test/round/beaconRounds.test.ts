import { describe, expect, it } from 'vitest'
import { hashParts } from '../../src/crypto/hash.js'
import { BeaconChain } from '../../src/ledger/beaconChain.js'
import type { Envelope } from '../../src/protocol/envelope.js'
import { CURRENT_RULES, RULES_VERSIONS } from '../../src/protocol/rulesVersions.js'
import { beaconFollows, type IssuedBeacon } from '../../src/round/beacons.js'
import { genesisLedgerView } from '../../src/round/ledgerView.js'
import { selectMembers } from '../../src/round/rules.js'
import { verifyOpened } from '../../src/round/verify.js'
import { Harness, ident, testBeacon } from './harness.js'

const v2 = (opts: Partial<ConstructorParameters<typeof Harness>[0]> = {}) => new Harness({ nodes: 7, rules: CURRENT_RULES, ...opts })

describe('rounds keyed by the ledger’s beacons (rules 2)', () => {
  it('run to a Result whose seals quote the beacons, and verify against exactly those', () => {
    const h = v2()
    expect(h.outcome?.outcome.ranked).toBe(true)
    const t = h.outcome!.transcript
    const members = t.find((m) => m.env.type === 'Members')!.env as Envelope<'Members'>
    const reveals = t.find((m) => m.env.type === 'RevealsSealed')!.env as Envelope<'RevealsSealed'>
    expect(members.body.beacon?.value).toBe(h.issued.get('members')!.value)
    expect(reveals.body.beacon?.value).toBe(h.issued.get('assignment')!.value)
    expect(verifyOpened(t, { ledger: h.ledger, beacons: h.beacons }).outcome.winner).toBe(h.outcome!.outcome.winner)
    // Without the ledger's word, or against another beacon, it does not verify.
    expect(() => verifyOpened(t, { ledger: h.ledger })).toThrow(/checked against their ledger's beacons/)
    const other = (phase: 'members' | 'assignment'): IssuedBeacon => ({ ...h.issued.get(phase)!, value: hashParts('another', phase) })
    expect(() => verifyOpened(t, { ledger: h.ledger, beacons: (_r, p) => (p === 'members' ? other(p) : h.issued.get(p)) })).toThrow(/members seal quotes another beacon/)
    expect(() => verifyOpened(t, { ledger: h.ledger, beacons: (_r, p) => (p === 'assignment' ? { ...h.issued.get(p)!, seal: hashParts('x') } : h.issued.get(p)) })).toThrow(/assignment beacon follows another seal/)
    expect(() => verifyOpened(t, { ledger: h.ledger, beacons: (_r, p) => (p === 'assignment' ? undefined : h.issued.get(p)) })).toThrow(/issued no assignment beacon/)
  })

  it('a beacon the ledger bound to another seal (a re-roll) ends the round; so does one that never comes', () => {
    const rerolled = v2({ beacon: (phase, seal) => testBeacon(phase, phase === 'members' ? hashParts('an earlier seal') : seal) })
    expect(rerolled.failure).toMatchObject({ code: 'NO_BEACON' })
    const silent = v2({ beacon: (phase, seal) => (phase === 'assignment' ? undefined : testBeacon(phase, seal)) })
    expect(silent.outcome).toBeUndefined()
    silent.runDeadlines()
    expect(silent.failure).toMatchObject({ code: 'NO_BEACON' })
  })

  it('grinding the Query buys no seats: selection follows a beacon nobody knew when the joins were sealed', () => {
    // 20 joiners, 5 seats, 5 friends of the coordinator. Under rules 1 the coordinator grinds its
    // Query until all five seats are its friends' (about 1 in 15 504 tries, measured before).
    const joiners = Array.from({ length: 20 }, (_, i) => ident(`grind-${i}`).id).sort()
    const friends = new Set(joiners.slice(0, 5))
    const chain = new BeaconChain(hashParts('grind-chain'), 1_024)
    let won = 0
    let seatsRules2 = 0
    const rounds = 30
    for (let r = 0; r < rounds; r++) {
      // The coordinator's best grind under rules 1: the round id (of 600 tries) seating most friends.
      let best = { id: '', seats: -1 }
      for (let n = 0; n < 600; n++) {
        // The id a ground Query hashes to: the coordinator picks among as many as it cares to sign.
        const id = hashParts('ground', String(r), String(n))
        const seats = selectMembers(id, joiners, 5).filter((m) => friends.has(m)).length
        if (seats > best.seats) best = { id, seats }
      }
      won += best.seats
      // The same round under rules 2: the beacon comes after the seal.
      seatsRules2 += selectMembers(best.id, joiners, 5, chain.value(r + 1)).filter((m) => friends.has(m)).length
    }
    // Rules 1: the grind seats far more friends than chance (5 × 5/20 = 1.25 a round); rules 2: chance.
    expect(won / rounds).toBeGreaterThan(3)
    expect(seatsRules2 / rounds).toBeGreaterThan(0.6)
    expect(seatsRules2 / rounds).toBeLessThan(1.9)
  })
})

describe('support that Sybils cannot buy (rules 2)', () => {
  it('ten fresh identities agreeing do not outweigh five answerers with a record, where rules 1 let them', () => {
    // 15 members: nodes 0–4 have answered 20 ranked rounds and say 42; nodes 5–14 are fresh and
    // all say 41. Judges split evenly (a tie on every pair), so only support decides.
    const record = new Map(Array.from({ length: 15 }, (_, i) => [ident(`node-${i}`).id, i < 5 ? 20 : 0]))
    const ledger = { ...genesisLedgerView(), answerRounds: (n: string) => record.get(n) }
    const answer = (_n: unknown, i: number) => (i < 5 ? 'The answer is 42' : 'The answer is 41')
    const winnerSays = (h: Harness) => h.outcome!.outcome.answer
    const v1 = new Harness({ nodes: 15, ledger, answer, verdict: () => 'T' })
    expect(winnerSays(v1)).toBe('The answer is 41')
    const v2Round = new Harness({ nodes: 15, ledger, answer, verdict: () => 'T', rules: RULES_VERSIONS.get(2)!.rules })
    expect(winnerSays(v2Round)).toBe('The answer is 42')
    // Today's rules weigh records by rank too: at an even rank, the same.
    const ranked = { ...ledger, reputationPpm: () => 500_000 }
    expect(winnerSays(new Harness({ nodes: 15, ledger: ranked, answer, verdict: () => 'T', rules: CURRENT_RULES }))).toBe('The answer is 42')
    // And it still verifies, by the same records.
    expect(verifyOpened(v2Round.outcome!.transcript, { ledger, beacons: v2Round.beacons }).outcome.answer).toBe('The answer is 42')
    // With no record on either side, the larger group is no longer favoured by its size alone.
    const fresh = new Harness({ nodes: 15, ledger: genesisLedgerView(), answer, verdict: () => 'T', rules: CURRENT_RULES })
    const top = fresh.outcome!.outcome.scores
    expect(top.find((s) => s.support === 10)!.score).toBe(top.find((s) => s.support === 5)!.score)
  })
})

describe('support by rank too (rules 3)', () => {
  it('ten identities that sat in many rounds but kept losing add little, where a record alone let them outweigh five good answerers', () => {
    // All 15 have answered 20 ranked rounds; nodes 0–4 ranked high (80 %), nodes 5–14 low (10 %).
    const id = (i: number) => ident(`node-${i}`).id
    const ppm = new Map(Array.from({ length: 15 }, (_, i) => [id(i), i < 5 ? 800_000 : 100_000]))
    const ledger = { ...genesisLedgerView(), answerRounds: () => 20, reputationPpm: (n: string) => ppm.get(n) }
    const answer = (_n: unknown, i: number) => (i < 5 ? 'The answer is 42' : 'The answer is 41')
    const rules2 = new Harness({ nodes: 15, ledger, answer, verdict: () => 'T', rules: RULES_VERSIONS.get(2)!.rules })
    expect(rules2.outcome!.outcome.answer).toBe('The answer is 41')
    const rules3 = new Harness({ nodes: 15, ledger, answer, verdict: () => 'T', rules: CURRENT_RULES })
    expect(rules3.outcome!.outcome.answer).toBe('The answer is 42')
    expect(verifyOpened(rules3.outcome!.transcript, { ledger, beacons: rules3.beacons }).outcome.answer).toBe('The answer is 42')
  })
})

describe('members check the quoted beacon against the chain', () => {
  const chain = new BeaconChain(hashParts('member-check-chain'), 1_024)
  // The ledger had issued beacon 10 by the Query's head; the round's come later.
  const atHead = { chain: 1, index: 10, value: chain.value(10) }
  const ledger = { ...genesisLedgerView(), beaconAtHead: () => atHead }
  const issuing = (next: (k: number) => string) => {
    let k = 12
    return (_phase: 'members' | 'assignment', seal: string): IssuedBeacon => ({ chain: 1, index: ++k, value: next(k), seal })
  }

  it('follow the ledger’s own beacons, and refuse a value it did not issue or one from before the round', () => {
    expect(beaconFollows({ chain: 1, index: 13, value: chain.value(13) }, atHead)).toBe(true)
    expect(beaconFollows({ chain: 1, index: 13, value: hashParts('made up') }, atHead)).toBe(false)
    expect(beaconFollows({ chain: 1, index: 9, value: chain.value(9) }, atHead)).toBe(false)
    expect(beaconFollows({ chain: 2, index: 3, value: hashParts('another chain') }, atHead)).toBeUndefined()

    const honest = v2({ ledger, beacon: issuing((k) => chain.value(k)) })
    expect(honest.outcome?.outcome.ranked).toBe(true)
    expect(honest.rejected).toEqual([])
    // A coordinator quoting a beacon of its own making: every member refuses the seal, and the round ends with no answers.
    const forged = v2({ ledger, beacon: issuing((k) => hashParts('forged', String(k))) })
    forged.runDeadlines()
    expect(forged.outcome).toBeUndefined()
    expect(forged.rejected.filter((r) => r.code === 'BAD_SEAL' && r.type === 'Members')).toHaveLength(7)
  })
})

describe('joins the coordinator cannot censor (rules 3)', () => {
  it('a coordinator that drops honest Joins still seals every joiner whose ticket the ledger locked', () => {
    // The coordinator keeps only the first three Joins; the ledger locked all seven.
    const heard = new Set<string>()
    const h = v2({
      toCoordinator: (msg, from) => {
        if (msg.env.type !== 'Join') return true
        if (heard.size >= 3 && !heard.has(from.id)) return false
        heard.add(from.id)
        return true
      },
    })
    h.tick(h.round.deadlines.join)
    expect(h.outcome?.outcome.ranked).toBe(true)
    const members = h.outcome!.transcript.find((m) => m.env.type === 'Members')!.env as Envelope<'Members'>
    expect(members.body.joins.length / 128).toBe(7)
    expect(verifyOpened(h.outcome!.transcript, { ledger: h.ledger, beacons: h.beacons }).joiners).toHaveLength(7)
  })

  it('a Members seal that leaves out a locked joiner does not verify', () => {
    const h = v2()
    const t = h.outcome!.transcript
    // The ledger's beacon follows a joiner set of eight (one more Join than this transcript seals).
    const issued = h.issued.get('members')!
    expect(() => verifyOpened(t, { ledger: h.ledger, beacons: (_r, p) => (p === 'members' ? { ...issued, seal: hashParts('eight joiners') } : h.issued.get(p)) })).toThrow(/members beacon follows another seal/)
  })

  it('a joiner that locked nothing is not seated, and hears the seal; a ledger that names no set ends the round', () => {
    const unlocked = ident('node-6').id
    const h = v2({ locks: (node) => node.id !== unlocked })
    expect(h.outcome?.outcome.ranked).toBe(true)
    expect(verifyOpened(h.outcome!.transcript, { ledger: h.ledger, beacons: h.beacons }).joiners).not.toContain(unlocked)
    // From where it stands, its Join was dropped.
    expect(h.finishedReasons().get(unlocked)).toBe('censored')
    const mute = v2({ beacon: (phase, seal) => testBeacon(phase, seal), locks: () => false })
    expect(mute.failure).toMatchObject({ code: 'NO_BEACON' })
  })
})
