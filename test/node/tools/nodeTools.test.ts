import { afterEach, describe, expect, it } from 'vitest'
import { createEmbeddedSwarm, type EmbeddedSwarm } from '../../../src/cli/embeddedSwarm.js'
import type { CallOptions, JudgeReply, JudgeRequest } from '../../../src/models/backend.js'
import { InstantBackend } from '../../../src/models/instant.js'
import { mathsTools, type NodeTools } from '../../../src/node/tools/nodeTools.js'
import type { Envelope } from '../../../src/protocol/envelope.js'
import { checkEnvelope } from '../../../src/protocol/envelope.js'
import type { ChatMessage } from '../../../src/protocol/messages.js'
import { genesisLedgerView } from '../../../src/round/ledgerView.js'
import { verifyTranscript } from '../../../src/round/verify.js'

/**
 * Tools around a node's model, in real rounds of an embedded swarm: the maths checker decides the
 * pairs its evidence tells apart (the model is not asked for those), every verdict carries the
 * evidence signed, the transcript verifies, a judge's tools never see its own answer, and an
 * answerer whose arithmetic is wrong asks its model once more and keeps the better answer.
 */
const QUESTION = 'Each box holds 17 apples. How many apples are in 3 boxes?'
const RIGHT = 'Each box holds 17 apples, so 3 boxes hold 3 × 17 = 51 apples. The answer is 51.'
const WRONG = 'Each box holds 17 apples, so 3 boxes hold 3 × 17 = 52 apples. The answer is 52.'

class Scripted extends InstantBackend {
  judgeCalls = 0
  readonly asked: ChatMessage[][] = []
  constructor(
    name: string,
    private readonly replies: string[],
  ) {
    super(name)
  }
  override async answer(messages: readonly ChatMessage[], options: CallOptions = {}): Promise<string> {
    this.asked.push([...messages])
    options.onUsage?.({ prompt: 10, completion: 10 })
    return this.replies[Math.min(this.asked.length - 1, this.replies.length - 1)]!
  }
  override async judge(req: JudgeRequest, options: CallOptions = {}): Promise<JudgeReply> {
    this.judgeCalls++
    return super.judge(req, options)
  }
}

let swarm: EmbeddedSwarm | undefined
afterEach(async () => {
  await swarm?.stop()
  swarm = undefined
})

describe('node tools', () => {
  it('decide a judge’s verdict from the maths checker’s evidence, which each verdict carries signed', async () => {
    const backends = [RIGHT, WRONG, RIGHT.replace('51 apples', '51 apples in all'), WRONG.replace('52 apples', '52 apples in all'), 'I think it is 51.'].map((r, i) => new Scripted(`n${i}`, [r]))
    swarm = createEmbeddedSwarm({ nodes: 5, backendFor: (_id, i) => backends[i]!, keySeed: 'tools-judge', toolsFor: () => mathsTools() })
    const r = await swarm.ask(QUESTION)
    const reveals = r.transcript.filter((m) => m.env.type === 'VerdictReveal').map((m) => m.env as Envelope<'VerdictReveal'>)
    const text = new Map(r.transcript.filter((m) => m.env.type === 'AnswerReveal').map((m) => [m.env.from, (m.env as Envelope<'AnswerReveal'>).body.answer]))
    let decided = 0
    for (const v of reveals.flatMap((e) => e.body.verdicts)) {
      expect(v.e).toHaveLength(6)
      const [wrongFirst, wrongSecond] = [v.e![1]! > 0, v.e![4]! > 0]
      // The evidence decides against a wrong computation when the other chain's arithmetic leads to its answer.
      const cleanFollows = (wrongFirst ? v.e![5] : v.e![2]) === 1
      if (wrongFirst !== wrongSecond && cleanFollows) {
        decided++
        // The answer whose stated arithmetic holds wins the pair, whatever the model would say.
        expect(v.v).toBe(wrongFirst ? 'B' : 'A')
        expect(text.get(wrongFirst ? v.a : v.b)).toMatch(/= 52/)
      }
    }
    expect(decided).toBeGreaterThan(0)
    // The model was asked only for the pairs the evidence left open.
    const verdicts = reveals.reduce((n, e) => n + e.body.verdicts.length, 0)
    expect(backends.reduce((n, b) => n + b.judgeCalls, 0)).toBe(verdicts - decided)
    expect(r.outcome.answer).toMatch(/= 51/)
    expect(verifyTranscript(r.transcript.map((m) => m.env), { ledger: genesisLedgerView() }).root).toBe(r.result.env.body.root)
  })

  it('never show a judge’s tools its own answer', async () => {
    const seen: { judge: string; texts: string[] }[] = []
    const backends = Array.from({ length: 5 }, (_, i) => new Scripted(`n${i}`, [`Node ${i}: 2 + ${i} = ${2 + i}. The answer is ${2 + i}.`]))
    const spying = (i: number): NodeTools => ({
      name: 'spy',
      judge: (pair) => {
        seen.push({ judge: `n${i}`, texts: [pair.first, pair.second] })
        return mathsTools().judge!(pair)
      },
    })
    swarm = createEmbeddedSwarm({ nodes: 5, backendFor: (_id, i) => backends[i]!, keySeed: 'tools-own', toolsFor: (i) => spying(i) })
    await swarm.ask('What is 2 plus a node number?')
    expect(seen.length).toBeGreaterThan(0)
    for (const s of seen) expect(s.texts.some((t) => t.startsWith(`Node ${s.judge.slice(1)}:`))).toBe(false)
  })

  it('let an answerer fix its own arithmetic: the model is asked once more, and the better answer kept', async () => {
    const fixer = new Scripted('fixer', [WRONG, RIGHT])
    const stubborn = new Scripted('stubborn', [WRONG, 'Still 3 × 17 = 53. The answer is 53.'])
    const plain = [0, 1, 2].map((i) => new Scripted(`p${i}`, [RIGHT]))
    const backends = [fixer, stubborn, ...plain]
    swarm = createEmbeddedSwarm({ nodes: 5, backendFor: (_id, i) => backends[i]!, keySeed: 'tools-post', toolsFor: () => mathsTools() })
    const r = await swarm.ask(QUESTION)
    const answers = new Map(r.transcript.filter((m) => m.env.type === 'AnswerReveal').map((m) => [m.env.from, m.env as Envelope<'AnswerReveal'>]))
    const ids = swarm.nodes.map((n) => n.id)
    expect(answers.get(ids[0]!)!.body.answer).toBe(RIGHT)
    // A revision that checks no better is not kept.
    expect(answers.get(ids[1]!)!.body.answer).toBe(WRONG)
    expect(fixer.asked).toHaveLength(2)
    expect(fixer.asked[1]!.at(-1)!.content).toMatch(/3 × 17 = 52.*gives 51, not 52/s)
    // Both calls' tokens are counted in the reveal.
    expect(answers.get(ids[0]!)!.body.usage).toEqual({ prompt: 20, completion: 20 })
    for (const p of plain) expect(p.asked).toHaveLength(1)
  })

  it('keep the evidence a verdict may carry small and whole', () => {
    // Keys in canonical (sorted) order, as every envelope travels.
    const verdict = (e: unknown) => ({
      body: { salt: '03'.repeat(32), usage: { completion: 0, prompt: 0 }, verdicts: [{ a: '01'.repeat(32), b: '02'.repeat(32), e, p: -1, v: 'A' }] },
      from: 'cd'.repeat(32),
      round: 'ab'.repeat(32),
      seq: 1,
      sig: 'ef'.repeat(64),
      type: 'VerdictReveal',
      v: 1,
    })
    expect(() => checkEnvelope(verdict([3, 0, 1, 4, 2, 0]))).not.toThrow()
    for (const bad of [Array(17).fill(0), [1.5], [-2], [2_000_000], ['1']]) expect(() => checkEnvelope(verdict(bad))).toThrow()
  })
})
