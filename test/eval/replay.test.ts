import { describe, expect, it } from 'vitest'
import { hashParts } from '../../src/crypto/hash.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { bootstrapAccuracy } from '../../src/eval/bootstrap.js'
import { modelledVerdict } from '../../src/eval/modelledJudge.js'
import { replayTask } from '../../src/eval/replay.js'
import { driveRound } from '../../src/eval/roundDriver.js'
import type { RecordedTask } from '../../src/eval/zeroeval.js'
import { openEnvelope, signEnvelope } from '../../src/protocol/envelope.js'
import { SignatureVerifier } from '../../src/crypto/identity.js'
import { genesisLedgerView } from '../../src/round/ledgerView.js'

const ledger = genesisLedgerView()

describe('the modelled judge', () => {
  it('picks the right answer at its accuracy, in both orders, reproducibly', () => {
    for (const q of [0.6, 0.9]) {
      let right = 0
      const n = 4000
      for (let k = 0; k < n; k++) {
        const first = k % 2 === 0
        const v = modelledVerdict({ accuracy: q }, `s${k}`, first, !first)
        if ((v === 'A') === first) right++
      }
      expect(Math.abs(right / n - q)).toBeLessThan(0.03)
    }
    expect(modelledVerdict({ accuracy: 0.7 }, 'x', true, false)).toBe(modelledVerdict({ accuracy: 0.7 }, 'x', true, false))
    let firsts = 0
    for (let k = 0; k < 2000; k++) if (modelledVerdict({ accuracy: 0.5, positionBias: 0.4 }, `b${k}`, true, false) === 'A') firsts++
    expect(firsts / 2000).toBeGreaterThan(0.65)
  })
})

describe('the modelled judge: self-preference and injection', () => {
  it('picks the side agreeing with its own answer, or the injected side, at the set rate; at 0 it draws nothing', () => {
    let own = 0
    let injected = 0
    const n = 4000
    for (let k = 0; k < n; k++) {
      // The own / injected side is the wrong one, so every pick of it is the behaviour, not accuracy.
      if (modelledVerdict({ accuracy: 1, selfPreference: 0.3 }, `o${k}`, true, false, { ownSecond: true }) === 'B') own++
      if (modelledVerdict({ accuracy: 1, injectionSusceptibility: 0.6 }, `i${k}`, true, false, { injectedSecond: true }) === 'B') injected++
    }
    expect(Math.abs(own / n - 0.3)).toBeLessThan(0.03)
    expect(Math.abs(injected / n - 0.6)).toBeLessThan(0.03)
    for (let k = 0; k < 200; k++) {
      const plain = modelledVerdict({ accuracy: 0.7, positionBias: 0.1 }, `z${k}`, true, false)
      expect(modelledVerdict({ accuracy: 0.7, positionBias: 0.1, selfPreference: 0, injectionSusceptibility: 0 }, `z${k}`, true, false, { ownFirst: true, injectedSecond: true })).toBe(plain)
    }
  })
})

describe('bootstrap intervals', () => {
  it('contain the mean and narrow with more questions', () => {
    const small = bootstrapAccuracy(Array.from({ length: 50 }, (_, i) => i % 4 !== 0))
    const large = bootstrapAccuracy(Array.from({ length: 2000 }, (_, i) => i % 4 !== 0))
    for (const e of [small, large]) {
      expect(e.mean).toBeCloseTo(0.75, 1)
      expect(e.lo).toBeLessThanOrEqual(e.mean)
      expect(e.hi).toBeGreaterThanOrEqual(e.mean)
    }
    expect(large.hi - large.lo).toBeLessThan(small.hi - small.lo)
  })
})

/** A small synthetic task: 5 models, 30 questions; models 0–1 always right, 2–4 wrong in different ways on a third. */
function syntheticTask(): RecordedTask {
  const models = ['m0', 'm1', 'm2', 'm3', 'm4']
  const questions = Array.from({ length: 30 }, (_, q) => ({
    id: `q${q}`,
    question: `What is ${q} + ${q}?`,
    gold: String(2 * q),
    spec: { type: 'number' as const, marker: 'last' as const },
    replies: models.map((model, m) => {
      const wrong = m >= 2 && q % 3 === 0
      const answer = wrong ? String(2 * q + m) : String(2 * q)
      return { model, raw: `"reasoning": "...", "answer": "${answer}"`, answer }
    }),
  }))
  return { task: 'gsm', models, questions }
}

describe('replay through real rounds', () => {
  it('scores every method, and good judges make the swarm at least as good as the vote', () => {
    const r = replayTask(syntheticTask(), { judge: { accuracy: 0.95 } })
    expect(r.questions).toBe(30)
    expect(r.accuracy.oracle.mean).toBe(1)
    expect(r.accuracy['best single'].mean).toBe(1)
    expect(r.accuracy.swarm.mean).toBeGreaterThanOrEqual(r.accuracy['majority vote'].mean)
    expect(r.accuracy.swarm.mean).toBeGreaterThan(0.9)
    // 10 pairs, both orders, two judges each (a five-node swarm gives each pair ⌈6/4⌉ judges).
    expect(r.verdictsPerQuestion).toBe(40)
  })

  it('learns judge weights online from calibration questions, and does better than uniform weights', () => {
    // Judge profiles by node: nodes 0–1 judge well, nodes 2–4 pick the wrong answer 90 % of the time.
    const task = syntheticTask()
    const judgeFor = (i: number) => ({ accuracy: i < 2 ? 0.95 : 0.1 })
    const uniform = replayTask(task, { judge: { accuracy: 0.5 }, judgeFor })
    const learned = replayTask(task, { judge: { accuracy: 0.5 }, judgeFor, calibrationShare: 0.3 })
    expect(learned.questions).toBeLessThan(30)
    expect(learned.accuracy.swarm.mean).toBeGreaterThan(uniform.accuracy.swarm.mean)
    // The first rounds still trust the bad judges (the prior); calibration catches up.
    expect(learned.accuracy.swarm.mean).toBeGreaterThan(0.8)
  })

  it('a modelled injection attacker: harmless to judges that ignore it, and the swarm resists it better than plain BT', () => {
    const task = syntheticTask()
    const calm = replayTask(task, { judge: { accuracy: 0.9 }, attacker: true })
    // Judges that obey the injection 60 % of the time (past about 0.7 both methods are simply captured).
    const fooled = replayTask(task, { judge: { accuracy: 0.9, injectionSusceptibility: 0.6 }, attacker: true })
    expect(calm.attackSuccess).toBeDefined()
    // Six answers now (five models and the attacker): 6·5 ordered pairs, two judges each.
    expect(calm.verdictsPerQuestion).toBe(60)
    expect(fooled.attackSuccess!['weighted BT'].mean).toBeGreaterThan(calm.attackSuccess!['weighted BT'].mean + 0.4)
    expect(fooled.attackSuccess!.swarm.mean).toBeLessThan(fooled.attackSuccess!['weighted BT'].mean)
    // The attacker is not a model: best single and oracle are unchanged.
    expect(fooled.accuracy.oracle.mean).toBe(1)
    expect(fooled.bestSingleModel).toBe('m0')
  })

  it('self-preference hurts when most judges share a wrong answer', () => {
    // Models 2–4 now give the same wrong answer on a third of the questions.
    const task = syntheticTask()
    for (const q of task.questions) for (const r of q.replies.slice(2)) if (r.answer !== q.gold) r.raw = `"answer": "${(r.answer = String(Number(q.gold) + 1))}"`
    const fair = replayTask(task, { judge: { accuracy: 0.9 } })
    const partial = replayTask(task, { judge: { accuracy: 0.9, selfPreference: 0.9 } })
    expect(fair.accuracy.swarm.mean).toBe(1)
    expect(partial.accuracy.swarm.mean).toBeLessThan(fair.accuracy.swarm.mean)
    expect(partial.tokensPerQuestion.answers).toBeGreaterThan(0)
    expect(partial.tokensPerQuestion.judging).toBeGreaterThan(partial.tokensPerQuestion.answers)
  })

  it('rejects a forged verdict exactly as a live round does', () => {
    const ids = [0, 1, 2, 3].map((i) => identityFromSeed(Buffer.from(hashParts('forge', String(i)), 'hex')))
    const nodes = ids.map((identity, i) => ({ identity, answer: `answer ${i}`, judge: () => 'A' as const }))
    const mallory = identityFromSeed(Buffer.alloc(32, 7))
    const verifier = new SignatureVerifier()
    const { done, rejected } = driveRound(nodes, 'q', ledger, 0, { intercept: (msg) => {
      if (msg.env.type !== 'VerdictReveal' || msg.env.from !== ids[0]!.id) return msg
      // Flip the first verdict and re-sign with another key, keeping the claimed sender.
      const body = msg.env.body as { verdicts: { v: string }[] }
      const flipped = { ...body, verdicts: body.verdicts.map((v, k) => (k === 0 ? { ...v, v: 'B' } : v)) }
      const forged = signEnvelope(mallory, { type: 'VerdictReveal', round: msg.env.round, seq: msg.env.seq, body: flipped as never })
      const wire = Buffer.from(forged.wire.toString().replace(mallory.id, ids[0]!.id))
      expect(() => openEnvelope(wire, verifier)).toThrow(expect.objectContaining({ code: 'BAD_SIGNATURE' }))
      return { ...msg, wire }
    } })
    expect(rejected).toContain('BAD_SIGNATURE')
    expect(done.transcript.some((m) => m.env.type === 'VerdictReveal' && m.env.from === ids[0]!.id)).toBe(false)
  })
})

describe('paired differences', () => {
  it('are zero when two methods agree on every question, and exclude zero when one wins often and never loses', async () => {
    const { pairedDifference } = await import('../../src/eval/bootstrap.js')
    const same = Array.from({ length: 50 }, (_, i) => i % 3 === 0)
    expect(pairedDifference(same, same)).toEqual({ mean: 0, lo: 0, hi: 0, onlyA: 0, onlyB: 0 })
    const better = same.map((x, i) => x || i % 5 === 1)
    const d = pairedDifference(better, same)
    expect(d.onlyA).toBe(7)
    expect(d.onlyB).toBe(0)
    expect(d.mean).toBeCloseTo(7 / 50)
    expect(d.lo).toBeGreaterThan(0)
    // Paired, the interval is narrower than the two accuracies' intervals suggest: they overlap, it does not reach 0.
    const r = replayTask(syntheticTask(), { judge: { accuracy: 0.95 } })
    expect(r.paired['swarm − majority vote'].mean).toBeCloseTo(r.accuracy.swarm.mean - r.accuracy['majority vote'].mean)
  })
})

describe('judges that check, in replay', () => {
  it('let the maths checker carry a right minority past a majority whose chains state a wrong product', () => {
    const models = ['m0', 'm1', 'm2', 'm3', 'm4']
    const right = 'Each box holds 17, so 3 × 17 = 51. The answer is 51.'
    const wrong = 'Each box holds 17, so 3 × 17 = 52. The answer is 52.'
    const task: RecordedTask = {
      task: 'boxes',
      models,
      questions: Array.from({ length: 20 }, (_, k) => ({
        id: `q${k}`,
        question: `How many apples are in 3 boxes of 17? (${k})`,
        gold: '51',
        spec: { type: 'number' as const, marker: 'last' as const },
        replies: models.map((model, m) => (m < 2 ? { model, raw: right, answer: '51' } : { model, raw: wrong, answer: '52' })),
      })),
    }
    // Judges at chance: alone they leave the vote to the larger group.
    const plain = replayTask(task, { judge: { accuracy: 0.5 }, seed: 'tools' })
    const checked = replayTask(task, { judge: { accuracy: 0.5 }, seed: 'tools', judgeTools: 'maths' })
    expect(plain.accuracy['majority vote'].mean).toBe(0)
    expect(plain.accuracy.swarm.mean).toBeLessThan(0.5)
    expect(checked.accuracy.swarm.mean).toBe(1)
  })
})

describe('the GOOD/BAD prefilter, in replay (rules 4 against rules 3)', () => {
  it('leaves out the replies its text check marks, never a right one, and counts them', () => {
    const models = ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']
    const task: RecordedTask = {
      task: 'soup',
      models,
      questions: Array.from({ length: 12 }, (_, k) => ({
        id: `q${k}`,
        question: `What is 6 × 7? (${k})`,
        gold: '42',
        spec: { type: 'number' as const, marker: 'last' as const },
        // Two right, two wrong, and two lazy nodes: dots, and symbol soup.
        replies: models.map((model, m) => ({ model, raw: ['6 × 7 = 42. The answer is 42.', 'The answer is 42.', 'I think 41.', 'It is 40.', '. . .', '⟁⟁⟁ ∰∰∰ ⟁⟁⟁'][m]!, answer: m < 4 ? (m < 2 ? '42' : String(41 - (m - 2))) : undefined })),
      })),
    }
    const on = replayTask(task, { judge: { accuracy: 0.7 }, seed: 'pf', prefilter: true })
    expect(on.prefiltered).toEqual({ answers: 24, right: 0, questionsLosingRight: 0 })
    const off = replayTask(task, { judge: { accuracy: 0.7 }, seed: 'pf', prefilter: false })
    expect(off.prefiltered).toBeUndefined()
    expect(on.questions).toBe(12)
  })
})
