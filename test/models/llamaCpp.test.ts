import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLlamaRuntime, LlamaCppBackend, type LlamaRuntime, ModelLoadError } from '../../src/models/llamaCpp.js'
import { Semaphore } from '../../src/models/semaphore.js'
import { tinyGguf } from '../../src/models/tinyGguf.js'

let runtime: LlamaRuntime
let dir: string
const backends: LlamaCppBackend[] = []
const load = async (seed: string, judgeMode: 'probabilities' | 'constrained' = 'probabilities') => {
  const path = join(dir, `${seed}.gguf`)
  await writeFile(path, tinyGguf({ seed }))
  const b = await LlamaCppBackend.load(runtime, { modelPath: path, maxAnswerTokens: 12, judgeMode, contextSize: 1024 })
  backends.push(b)
  return b
}

beforeAll(async () => {
  runtime = await createLlamaRuntime(1)
  dir = await mkdtemp(join(tmpdir(), 'chorus-gguf-'))
})
afterAll(async () => {
  for (const b of backends) await b.close()
})

const req = { question: 'What is 6 × 7?', first: '42', second: 'It is 41.' }

describe('in-process GGUF backend on a generated tiny model', () => {
  it('writes a few-hundred-KB model that differs by seed', () => {
    const a = tinyGguf({ seed: 'a' })
    expect(a.subarray(0, 4).toString()).toBe('GGUF')
    expect(a.length).toBeGreaterThan(100_000)
    expect(a.length).toBeLessThan(1_000_000)
    expect(tinyGguf({ seed: 'b' }).equals(a)).toBe(false)
    expect(tinyGguf({ seed: 'a' }).equals(a)).toBe(true)
  })

  it('loads and answers deterministically at temperature 0', async () => {
    const b = await load('answer')
    const first = await b.answer([{ role: 'user', content: 'Say something.' }])
    expect(typeof first).toBe('string')
    expect(await b.answer([{ role: 'user', content: 'Say something.' }])).toBe(first)
    // Token counts come from llama.cpp's meter: both calls evaluated a prompt and generated.
    expect(b.usage.calls).toBe(2)
    expect(b.usage.promptTokens).toBeGreaterThan(10)
    expect(b.usage.completionTokens).toBeGreaterThan(0)
  })

  it("samples as the round's Query asks: a token limit cuts the answer, a seed repeats a sampled one", async () => {
    const b = await load('sampled')
    const before = b.usage.completionTokens
    await b.answer([{ role: 'user', content: 'Say something long.' }], { sampling: { maxTokens: 2 } })
    expect(b.usage.completionTokens - before).toBeLessThanOrEqual(2)
    const warm = { sampling: { temperature: 1, seed: 42, maxTokens: 8 } }
    const x = await b.answer([{ role: 'user', content: 'Say something.' }], warm)
    expect(await b.answer([{ role: 'user', content: 'Say something.' }], warm)).toBe(x)
  })

  it('judges through next-token probabilities with a probability that is a real number', async () => {
    const b = await load('judge-p')
    const r = await b.judge(req)
    expect(['A', 'B', 'T']).toContain(r.verdict)
    expect(r.pFirst).toBeGreaterThanOrEqual(0)
    expect(r.pFirst).toBeLessThanOrEqual(1)
    // Deterministic: the same pair gives the same probability, to float rounding: the second time
    // only the last token is evaluated, in a batch of its own, and a batch of another size sums in
    // another order (on this random-weight model that moved P(A) by up to 0.001).
    expect((await b.judge(req)).pFirst).toBeCloseTo(r.pFirst!, 2)
  })

  it('judges through a grammar-constrained reply with a parseable verdict', async () => {
    const b = await load('judge-c', 'constrained')
    const r = await b.judge(req)
    expect(['A', 'B', 'T']).toContain(r.verdict)
  })

  it('never runs more inferences at once than the semaphore allows', async () => {
    const [x, y] = [await load('s1'), await load('s2')]
    let peak = 0
    const watch = setInterval(() => (peak = Math.max(peak, runtime.semaphore.inUse)), 0)
    await Promise.all([x.judge(req), y.judge(req), x.answer([{ role: 'user', content: 'hi' }]), y.answer([{ role: 'user', content: 'hi' }])])
    clearInterval(watch)
    expect(peak).toBe(1)
  })

  it('runs calls on one model in turn even when the process has cores to spare', async () => {
    // Two permits, one model: its single context sequence must still serve one call at a time,
    // or concurrent prompts overwrite each other's state and the probabilities come out wrong.
    const wide: LlamaRuntime = { llama: runtime.llama, semaphore: new Semaphore(2) }
    const path = join(dir, 'shared.gguf')
    await writeFile(path, tinyGguf({ seed: 'shared' }))
    const b = await LlamaCppBackend.load(wide, { modelPath: path, contextSize: 1024 })
    backends.push(b)
    const reqs = Array.from({ length: 6 }, (_, i) => ({ question: `Question ${i}: what is ${i} + ${i}?`, first: `It is ${2 * i}.`, second: `${i * 3}` }))
    const inTurn: (number | undefined)[] = []
    for (const r of reqs) inTurn.push((await b.judge(r)).pFirst)
    const together = (await Promise.all(reqs.map((r) => b.judge(r)))).map((r) => r.pFirst)
    for (let i = 0; i < reqs.length; i++) expect(together[i]).toBeCloseTo(inTurn[i]!, 6)
  })

  it('reads only what a prompt does not share with the one before it, with the same verdict', async () => {
    const fresh = await load('prefix')
    const expected = await fresh.judge(req)
    const b = await load('prefix')
    await b.judge({ ...req, second: 'Forty-three, surely.' })
    const before = b.usage.promptTokens
    const r = await b.judge(req)
    const read = b.usage.promptTokens - before
    // Byte vocabulary: the shared start (instructions, question, first answer) is most of the
    // prompt; what is read again is the second answer and the closing lines.
    expect(read).toBeLessThan(fresh.usage.promptTokens / 3)
    // The same verdict up to llama.cpp's rounding: a prompt read in other batches differs in the
    // fourth decimal here.
    expect(r.verdict).toBe(expected.verdict)
    expect(r.pFirst).toBeCloseTo(expected.pFirst!, 2)
  })

  it('fails with a clear error for a missing or corrupt model file', async () => {
    await expect(LlamaCppBackend.load(runtime, { modelPath: join(dir, 'missing.gguf') })).rejects.toBeInstanceOf(ModelLoadError)
    const bad = join(dir, 'bad.gguf')
    await writeFile(bad, Buffer.from('GGUF not really'))
    await expect(LlamaCppBackend.load(runtime, { modelPath: bad })).rejects.toThrow(/cannot load GGUF model/)
  })
})
