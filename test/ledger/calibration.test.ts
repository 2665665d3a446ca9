import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { hashParts } from '../../src/crypto/hash.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { DEFAULT_CALIBRATION, signCalibrationAnswer, signCalibrationAsk } from '../../src/ledger/calibration.js'
import { CalibrationPool, itemCommitment, parseCalibrationItems } from '../../src/ledger/calibrationPool.js'
import { HttpLedgerClient } from '../../src/ledger/httpLedgerClient.js'
import { createLedgerServer } from '../../src/ledger/ledgerServer.js'
import { LocalLedgerClient } from '../../src/ledger/localClient.js'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import { verifyLedger } from '../../src/ledger/verifyLedger.js'
import { takeCalibration } from '../../src/node/calibration.js'
import { population } from './compliance.js'
import { capableJudge, guessingJudge, ledgerCode, rightVerdict } from './judges.js'

/**
 * Proof of capability on the SQLite ledger: a node judges known-answer pairs before its verdicts
 * weigh anything. A good judge here knows the answers (it rebuilds the operator's pool: a test
 * may, a node cannot); a random one guesses.
 */
const operator = identityFromSeed(Buffer.from(hashParts('calibration-operator'), 'hex'))
const T0 = 1_800_000_000_000

const rightOf = rightVerdict(operator)
const good = () => capableJudge(operator)
const random = () => guessingJudge('random')

function setUp(path = ':memory:', rules = {}) {
  let t = T0
  const ledger = SqliteLedger.open({ path, operator, now: () => t, rules })
  const { nodes } = population(ledger, 4)
  return { ledger, nodes, client: new LocalLedgerClient(ledger), advance: (ms: number) => void (t += ms), now: () => t }
}

const codeOf = ledgerCode

describe('proof of capability', () => {
  it('a new node weighs nothing until it passes; a good judge passes, a random one is refused and waits', async () => {
    const { ledger, nodes, client, now, advance } = setUp()
    try {
      const weight = (i: number) => ledger.viewAt(ledger.head())!.judgeWeight(nodes[i]!.id)
      expect([0, 1].map(weight)).toEqual([0, 0])
      const passed = await takeCalibration({ identity: nodes[0]!, client, backend: good(), now })
      expect(passed).toEqual({ state: 'passed', right: 20, of: 20 })
      expect(weight(0)).toBeGreaterThan(1)
      // Calibrated: nothing more to take.
      expect(await takeCalibration({ identity: nodes[0]!, client, backend: good(), now })).toEqual({ state: 'calibrated' })
      const failed = await takeCalibration({ identity: nodes[1]!, client, backend: random(), now })
      expect(failed.state).toBe('failed')
      expect(weight(1)).toBe(0)
      // It may not try again at once (no guessing its way through), and then may.
      expect((await takeCalibration({ identity: nodes[1]!, client, backend: good(), now })).state).toBe('waiting')
      advance(DEFAULT_CALIBRATION.retryMs)
      expect((await takeCalibration({ identity: nodes[1]!, client, backend: good(), now })).state).toBe('passed')
    } finally {
      ledger.close()
    }
  })

  it('issues each node one challenge at a time, of fresh items committed in the log and revealed when graded', () => {
    const { ledger, nodes, now } = setUp()
    try {
      const c = ledger.calibrationChallenge(signCalibrationAsk(nodes[0]!, now()))
      expect(c.tasks).toHaveLength(20)
      // Every item appears twice, once in each order.
      const byQuestion = new Map<string, string[]>()
      for (const t of c.tasks) byQuestion.set(t.question, [...(byQuestion.get(t.question) ?? []), t.first])
      expect([...byQuestion.values()].every((firsts) => firsts.length === 2 && firsts[0] !== firsts[1])).toBe(true)
      // Asking again returns the same challenge and writes nothing.
      const head = ledger.head()
      expect(ledger.calibrationChallenge(signCalibrationAsk(nodes[0]!, now()))).toEqual(c)
      expect(ledger.head()).toBe(head)
      const issued = ledger.entries(1, 1_000).find((e) => e.kind === 'challenge')!
      const commitments = (JSON.parse(issued.body) as { commitments: string[] }).commitments
      // The log holds commitments only: no question text before the grading.
      expect(issued.body).not.toContain(c.tasks[0]!.question)
      ledger.answerCalibration(signCalibrationAnswer(nodes[0]!, c.id, c.tasks.map(rightOf)))
      const graded = ledger.entries(1, 1_000).find((e) => e.kind === 'calibration')!
      const revealed = (JSON.parse(graded.body) as { items: Parameters<typeof itemCommitment>[0][] }).items
      expect(revealed.map(itemCommitment)).toEqual(commitments)
      // The next node's challenge has other items.
      const other = ledger.calibrationChallenge(signCalibrationAsk(nodes[1]!, now()))
      expect(other.tasks.some((t) => byQuestion.has(t.question) && byQuestion.get(t.question)!.includes(t.first))).toBe(false)
    } finally {
      ledger.close()
    }
  })

  it('refuses what it must not take, changing nothing', () => {
    const { ledger, nodes, now, advance } = setUp()
    try {
      const stranger = identityFromSeed(Buffer.from(hashParts('unstaked'), 'hex'))
      const head = ledger.head()
      expect(codeOf(() => ledger.calibrationChallenge(signCalibrationAsk(stranger, now())))).toBe('UNKNOWN_ACCOUNT')
      expect(codeOf(() => ledger.calibrationChallenge({ ...signCalibrationAsk(nodes[0]!, now()), key: nodes[1]!.id }))).toBe('BAD_SIGNATURE')
      expect(codeOf(() => ledger.calibrationChallenge(signCalibrationAsk(nodes[0]!, now() - 120_000)))).toBe('NOT_YET')
      expect(codeOf(() => ledger.calibrationChallenge({ key: nodes[0]!.id }))).toBe('BAD_REQUEST')
      expect(ledger.head()).toBe(head)
      const c = ledger.calibrationChallenge(signCalibrationAsk(nodes[0]!, now()))
      const answers = c.tasks.map(rightOf)
      // Another node's signature, too few verdicts, another challenge: refused.
      expect(codeOf(() => ledger.answerCalibration({ ...signCalibrationAnswer(nodes[0]!, c.id, answers), key: nodes[1]!.id }))).toBe('BAD_SIGNATURE')
      expect(codeOf(() => ledger.answerCalibration(signCalibrationAnswer(nodes[0]!, c.id, answers.slice(1))))).toBe('BAD_REQUEST')
      expect(codeOf(() => ledger.answerCalibration(signCalibrationAnswer(nodes[0]!, c.id + 1, answers)))).toBe('BAD_REQUEST')
      // Too late: the challenge expired, and counts as a failure.
      advance(DEFAULT_CALIBRATION.answerWithinMs + 1)
      expect(codeOf(() => ledger.answerCalibration(signCalibrationAnswer(nodes[0]!, c.id, answers)))).toBe('CLOSED')
      expect(codeOf(() => ledger.calibrationChallenge(signCalibrationAsk(nodes[0]!, now())))).toBe('NOT_YET')
    } finally {
      ledger.close()
    }
  })

  it('a ledger with the gate off takes no challenges and lets every staked node judge', async () => {
    const { ledger, nodes, client, now } = setUp(':memory:', { calibration: { ...DEFAULT_CALIBRATION, required: false } })
    try {
      expect(ledger.viewAt(ledger.head())!.judgeWeight(nodes[0]!.id)).toBeGreaterThan(0)
      expect(await takeCalibration({ identity: nodes[0]!, client, backend: good(), now })).toEqual({ state: 'not-required' })
    } finally {
      ledger.close()
    }
  })

  it('replays every challenge and grading, and is served over HTTP', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-calibration-'))
    const path = join(dir, 'ledger.sqlite')
    const { ledger, nodes, now } = setUp(path)
    const app = createLedgerServer({ ledger })
    try {
      const client = new HttpLedgerClient(await app.listen({ host: '127.0.0.1', port: 0 }))
      expect((await takeCalibration({ identity: nodes[0]!, client, backend: good(), now })).state).toBe('passed')
      expect((await takeCalibration({ identity: nodes[1]!, client, backend: random(), now })).state).toBe('failed')
      await expect(client.calibrationChallenge(signCalibrationAsk(nodes[1]!, now()))).rejects.toMatchObject({ code: 'NOT_YET' })
      await app.close()
      ledger.close()
      expect((await verifyLedger(path)).entries).toBeGreaterThan(4)
    } finally {
      if (ledger.isOpen) ledger.close()
      await app.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('mixes an operator’s own items in, each issued at most once, and reads them strictly', () => {
    const items = parseCalibrationItems('{"question":"Capital of France?","right":"Paris","wrong":"Lyon"}\n\n')
    expect(items).toEqual([{ question: 'Capital of France?', right: 'Paris', wrong: 'Lyon' }])
    expect(() => parseCalibrationItems('{"question":"q","right":"a","wrong":"a"}')).toThrow(/line 1/)
    expect(() => parseCalibrationItems('not json')).toThrow(/line 1 is not JSON/)
    const withFile = new CalibrationPool('ab'.repeat(32), Array.from({ length: 50 }, (_, i) => ({ question: `file question ${i}`, right: 'r', wrong: 'w' })))
    const used = Array.from({ length: 400 }, (_, slot) => withFile.item(slot).question).filter((q) => q.startsWith('file question'))
    expect(used.length).toBeGreaterThan(0)
    expect(new Set(used).size).toBe(used.length)
  })
})
