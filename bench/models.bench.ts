import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createEmbeddedSwarm } from '../src/cli/embeddedSwarm.js'
import { LlamaCppBackend, createLlamaRuntime } from '../src/models/llamaCpp.js'
import { tinyGguf } from '../src/models/tinyGguf.js'
import { type Figure, median } from './stats.js'

/**
 * Model paths on generated tiny GGUF models (random weights, byte vocabulary): one verdict on a new
 * question by next-token probabilities versus by a grammar-constrained reply, and a whole 5-node
 * demo round.
 * The numbers measure the machinery around the model, not a real model's speed.
 */
const REQUEST = {
  question: 'A bat and a ball cost $1.10 in total. The bat costs $1.00 more than the ball. How much does the ball cost?',
  first: 'The ball costs 5 cents: 0.05 + 1.05 = 1.10.',
  second: 'The ball costs 10 cents.',
}

export async function run(): Promise<Figure[]> {
  const dir = await mkdtemp(join(tmpdir(), 'chorus-bench-'))
  const runtime = await createLlamaRuntime()
  const paths: string[] = []
  for (let i = 0; i < 5; i++) {
    const p = join(dir, `m${i}.gguf`)
    await writeFile(p, tinyGguf({ seed: `bench-${i}` }))
    paths.push(p)
  }
  const out: Figure[] = []
  for (const mode of ['probabilities', 'constrained'] as const) {
    const b = await LlamaCppBackend.load(runtime, { modelPath: paths[0]!, judgeMode: mode, contextSize: 1024 })
    // A new question each call: the judging instructions are already in the model's state (as in
    // a round), the question and both answers are read afresh.
    const ask = (k: number) => b.judge({ ...REQUEST, question: `(${k}) ${REQUEST.question}` })
    for (let w = 0; w < 3; w++) await ask(-1 - w)
    const times: number[] = []
    for (let k = 0; k < 20; k++) {
      const t0 = performance.now()
      await ask(k)
      times.push(performance.now() - t0)
    }
    await b.close()
    out.push({ name: mode === 'probabilities' ? 'judge_fastpath_ms' : 'judge_constrained_ms', value: median(times), unit: 'ms' })
  }
  const backends = await Promise.all(paths.map((p, i) => LlamaCppBackend.load(runtime, { modelPath: p, name: `tiny-${i}`, maxAnswerTokens: 32 })))
  const swarm = createEmbeddedSwarm({ nodes: 5, backendFor: (_, i) => backends[i]!, keySeed: 'bench-demo' })
  const rounds: number[] = []
  for (let r = 0; r < 6; r++) {
    const t0 = performance.now()
    await swarm.ask(`${REQUEST.question} (${r})`)
    if (r > 0) rounds.push(performance.now() - t0)
  }
  await swarm.stop()
  for (const b of backends) await b.close()
  out.push({ name: 'demo_round_tiny_ms', value: median(rounds), unit: 'ms' })
  return out
}

export const figures = ['judge_fastpath_ms', 'judge_constrained_ms', 'demo_round_tiny_ms']
