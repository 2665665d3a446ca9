import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { workspaceRules } from '../../src/cli/calibrationGate.js'
import { createEmbeddedSwarm } from '../../src/cli/embeddedSwarm.js'
import { swarmLedger } from '../../src/cli/workspaceLedger.js'
import { extractAnswer } from '../../src/consensus/answers.js'
import { hashParts } from '../../src/crypto/hash.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { CalibrationMixer } from '../../src/gateway/calibrationMixer.js'
import { signBeaconRequest } from '../../src/ledger/beaconRequest.js'
import { CalibrationPool, calibrationSeed } from '../../src/ledger/calibrationPool.js'
import { signHiddenAsk, signHiddenReveal } from '../../src/ledger/hiddenRounds.js'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import { verifyLedger } from '../../src/ledger/verifyLedger.js'
import { InstantBackend } from '../../src/models/instant.js'
import type { QueryBody } from '../../src/protocol/messages.js'
import { CURRENT_RULES } from '../../src/protocol/rulesVersions.js'
import { Harness, ident } from '../round/harness.js'
import { population } from '../ledger/compliance.js'
import { capableJudge, ledgerCode } from '../ledger/judges.js'

/**
 * Hidden calibration rounds: a gateway runs known-answer questions from the ledger's pool as
 * ordinary rounds, and the ledger grades the judges of each on the known answer.
 */
const operator = identityFromSeed(Buffer.from(hashParts('hidden-operator'), 'hex'))
const T0 = 1_800_000_000_000

describe('hidden calibration rounds on the ledger', () => {
  it('grade each judge on the known answer: right-vs-wrong verdicts only, as evidence that moves its weight', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-hidden-'))
    const path = join(dir, 'ledger.sqlite')
    const t = T0
    const ledger = SqliteLedger.open({ path, operator, now: () => t })
    try {
      const { gateway, nodes } = population(ledger, 6)
      // Calibrated judges (the challenge first), so their verdicts weigh and can be graded.
      for (const n of nodes) {
        const { takeCalibration } = await import('../../src/node/calibration.js')
        expect((await takeCalibration({ identity: n, client: { calibrationChallenge: async (a) => ledger.calibrationChallenge(a), answerCalibration: async (a) => ledger.answerCalibration(a) }, backend: capableJudge(operator), now: () => t })).state).toBe('passed')
      }
      const head = ledger.head()
      // A node cannot take items; the gateway gets the question only.
      expect(ledgerCode(() => ledger.hiddenItem(signHiddenAsk(nodes[0]!, t)))).toBe('NOT_A_GATEWAY')
      const item = ledger.hiddenItem(signHiddenAsk(gateway, t))
      expect(Object.keys(item).sort()).toEqual(['id', 'question'])
      const entry = ledger.entries(1, 1_000).find((e) => e.kind === 'hidden-item')!
      expect(entry.body).not.toContain(item.question)
      expect(ledger.head()).not.toBe(head)
      // The round: nodes 0–2 state the known answer, 3–5 another; judges 0 and 1 always prefer node
      // 0–2's answers, the others always the wrong ones.
      const gold = extractAnswer(new CalibrationPool(calibrationSeed(operator)).hiddenItem(0).right, true)!
      const right = (i: number) => i < 3
      const h = new Harness({
        nodes: 6,
        ledger: ledger.viewAt(ledger.head())!,
        now: t,
        rules: CURRENT_RULES,
        request: { fee: '1000000', ticket: '10000', messages: [{ role: 'user', content: item.question }] },
        beacon: (phase, seal, query) => ledger.beacon(signBeaconRequest(gateway, query, phase, seal)),
        locks: (_n, join, query) => ledger.lockTicket({ query: query.env, join: join.env }).seq > 0,
        answer: (_n, i) => `I worked it out. The answer is ${right(i) ? gold : Number(gold) + 7}.`,
        verdict: (judge, a, b) => {
          const ra = right(nodes.findIndex((n) => n.id === a))
          const rb = right(nodes.findIndex((n) => n.id === b))
          if (ra === rb) return 'T'
          const honest = [nodes[0]!.id, nodes[1]!.id].includes(judge.id)
          return ra === honest ? 'A' : 'B'
        },
      })
      expect(h.outcome?.outcome.ranked).toBe(true)
      // Not settled yet: nothing to grade.
      expect(ledgerCode(() => ledger.revealHiddenRound(signHiddenReveal(gateway, item.id, h.round.roundId)))).toBe('NOT_YET')
      ledger.settle(h.outcome!.transcript.map((m) => m.env))
      const before = nodes.map((n) => ledger.account(n.id)!.reputation)
      // Another gateway's word, or another round, is refused.
      expect(ledgerCode(() => ledger.revealHiddenRound(signHiddenReveal(ident('someone'), item.id, h.round.roundId)))).toBe('BAD_REQUEST')
      const r = ledger.revealHiddenRound(signHiddenReveal(gateway, item.id, h.round.roundId))
      expect(r.graded).toBeGreaterThan(0)
      const after = nodes.map((n) => ledger.account(n.id)!.reputation)
      for (let i = 0; i < 6; i++) {
        const graded = after[i]!.calTotal - before[i]!.calTotal
        const gotRight = after[i]!.calRight - before[i]!.calRight
        if (graded === 0) continue
        // The two honest judges were right on every graded verdict; the others on none.
        expect(gotRight).toBe(i < 2 ? graded : 0)
        if (i >= 2) expect(after[i]!.weightMicro).toBeLessThan(before[i]!.weightMicro)
      }
      expect(after.reduce((n, a, i) => n + a.calTotal - before[i]!.calTotal, 0)).toBeGreaterThan(0)
      // Reported once: the item is spent.
      expect(ledgerCode(() => ledger.revealHiddenRound(signHiddenReveal(gateway, item.id, h.round.roundId)))).toBe('BAD_REQUEST')
      ledger.close()
      expect((await verifyLedger(path)).settlements).toBe(1)
    } finally {
      if (ledger.isOpen) ledger.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('hidden items under abuse', () => {
  it('a replayed ask takes nothing; past 64 unreported items, the oldest lapses instead of locking the gateway out', () => {
    let t = T0
    const ledger = SqliteLedger.open({ path: ':memory:', operator, now: () => t })
    try {
      const { gateway } = population(ledger, 3)
      const ask = signHiddenAsk(gateway, t)
      const first = ledger.hiddenItem(ask)
      expect(ledgerCode(() => ledger.hiddenItem(ask))).toBe('BAD_REQUEST')
      // 64 more, never reported (their rounds failed): the first lapses, the gateway keeps going.
      for (let i = 1; i <= 64; i++) ledger.hiddenItem(signHiddenAsk(gateway, (t += 1)))
      expect(ledgerCode(() => ledger.revealHiddenRound(signHiddenReveal(gateway, first.id, 'ab'.repeat(32))))).toBe('BAD_REQUEST')
      expect(ledger.hiddenItem(signHiddenAsk(gateway, (t += 1))).question.length).toBeGreaterThan(0)
    } finally {
      ledger.close()
    }
  })
})

describe('a gateway mixing hidden rounds into its traffic', () => {
  it('runs them as ordinary rounds that settle and are graded; a classifier on their metadata does no better than a coin', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-mixer-'))
    const ledger = await swarmLedger(dir, 5, { rules: workspaceRules(true) })
    const swarm = createEmbeddedSwarm({ nodes: 5, backendFor: (id) => new InstantBackend(id.id), ledger: ledger.network, paymaster: ledger.paymaster, client: ledger.client, identities: ledger.identities })
    let draws = 0
    const mixer = new CalibrationMixer(swarm.port(), { identity: ledger.identities.coordinator, client: ledger.client, rate: 0.5, maxDelayMs: 20, random: () => (draws++ % 2 === 0 ? 0.25 : 0.5), onError: (err) => console.error(err) })
    try {
      for (let i = 0; i < 40; i++) {
        const res = await mixer.ask([{ role: 'user', content: `What is ${i + 3} + ${2 * i}?` }], {})
        await res.settlement
      }
      await new Promise((r) => setTimeout(r, 100))
      await mixer.stop()
      await ledger.paymaster.drain()
      expect(mixer.stats.run).toBe(40)
      expect(mixer.stats.graded).toBe(40)
      const file = ledger.workspace.ledger
      const hidden = new Set(file.entries(1, 100_000).filter((e) => e.kind === 'hidden-grade').map((e) => (JSON.parse(e.body) as { round: string }).round))
      expect(hidden.size).toBe(40)
      const queries = file
        .entries(1, 100_000)
        .filter((e) => e.kind === 'settle')
        .map((e) => (JSON.parse(e.body) as { transcript: { round: string; from: string; body: QueryBody }[] }).transcript[0]!)
      const rows = queries.map((q) => ({ hidden: hidden.has(q.round), features: metadata(q.from, q.body) }))
      expect(rows.filter((r) => r.hidden)).toHaveLength(40)
      expect(bestStumpAccuracy(rows)).toBeLessThanOrEqual(0.55)
    } finally {
      await mixer.stop()
      await swarm.stop()
      await ledger.paymaster.drain()
      ledger.close()
      await rm(dir, { recursive: true, force: true })
    }
  }, 60_000)
})

/** What a member sees of a round besides its question: coordinator, terms, deadlines, size. */
function metadata(coordinator: string, q: QueryBody): number[] {
  const d = q.deadlines
  return [Number.parseInt(coordinator.slice(0, 8), 16), Number(q.fee), Number(q.ticket), q.minMembers, q.maxMembers, q.minReputation, d.join - q.issuedAt, d.commit - q.issuedAt, d.reveal - q.issuedAt, d.verdictCommit - q.issuedAt, d.verdictReveal - q.issuedAt, q.messages.length, q.domains.length, q.rules.version]
}

/**
 * The best a one-feature threshold classifier does, trained on even rows and scored on odd ones
 * (every feature, every threshold, both directions).
 */
function bestStumpAccuracy(rows: { hidden: boolean; features: number[] }[]): number {
  const train = rows.filter((_, i) => i % 2 === 0)
  const test = rows.filter((_, i) => i % 2 === 1)
  let best = 0
  for (let f = 0; f < rows[0]!.features.length; f++) {
    let bestTrain = { acc: -1, threshold: 0, above: true }
    for (const { features } of train) {
      for (const above of [true, false]) {
        const threshold = features[f]!
        const acc = train.filter((r) => (r.features[f]! >= threshold) === above === r.hidden).length / train.length
        if (acc > bestTrain.acc) bestTrain = { acc, threshold, above }
      }
    }
    const acc = test.filter((r) => (r.features[f]! >= bestTrain.threshold) === bestTrain.above === r.hidden).length / test.length
    best = Math.max(best, acc)
  }
  return best
}
