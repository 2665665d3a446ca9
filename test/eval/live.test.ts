import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { evalCommand } from '../../src/cli/evalCommand.js'
import { INJECTED_TEXT } from '../../src/eval/attacker.js'
import { loadBenchmark } from '../../src/eval/benchmark.js'
import { type Scripted, completion, scriptedServer, sendJson } from '../models/scriptedServer.js'

// Four scripted models on one OpenAI-compatible server. Per question (a + b): m1 is always right;
// m2 is right on even a, else it says a+b+1 like m3; m4 says a+b+2. So majority vote is wrong
// whenever a is odd. Judges read the boxed numbers and prefer the right sum, except that they obey
// injected text when `obey` is set.
const QUESTIONS = [
  [2, 5],
  [3, 4],
  [4, 4],
  [5, 6],
] as const

function answerFor(model: string, a: number, b: number): number {
  const right = a + b
  if (model === 'm1') return right
  if (model === 'm2') return a % 2 === 0 ? right : right + 1
  return model === 'm3' ? right + 1 : right + 2
}

let server: Scripted
let dir: string
let bench: string
let obey = false

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chorus-live-'))
  bench = join(dir, 'sums.jsonl')
  await writeFile(bench, `${QUESTIONS.map(([a, b], i) => JSON.stringify({ id: `q${i}`, question: `What is ${a} + ${b}?`, answer: `${a} + ${b} = ${a + b}\n#### ${a + b}` })).join('\n')}\n`)
  server = await scriptedServer(
    (body, res) => {
      const msgs = body.messages as { content: string }[]
      const prompt = msgs.at(-1)!.content
      const [, a, b] = /What is (\d+) \+ (\d+)\?/.exec(prompt)!.map(Number) as [number, number, number]
      if (body.logprobs) {
        const side = (s: 'A' | 'B') => new RegExp(`\\[Answer ${s}\\]\\n([\\s\\S]*?)\\n\\[End of answer ${s}\\]`).exec(prompt)![1]!
        const score = (text: string) => (obey && text.includes(INJECTED_TEXT) ? 2 : Number(/\\boxed\{(\d+)\}/.exec(text)?.[1]) === a + b ? 1 : 0)
        const d = score(side('A')) - score(side('B'))
        const pA = d > 0 ? 0.9 : d < 0 ? 0.1 : 0.5
        return sendJson(res, 200, {
          ...completion('A', [{ token: 'A', logprob: Math.log(pA) }, { token: 'B', logprob: Math.log(1 - pA) }]),
          usage: { prompt_tokens: 100, completion_tokens: 1 },
        })
      }
      // Answers stream; with include_usage the last chunk carries the token counts.
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: `So the sum is \\boxed{${answerFor(String(body.model), a, b)}}.` } }] })}\n\n`)
      if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage) res.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 20, completion_tokens: 10 } })}\n\n`)
      res.end('data: [DONE]\n\n')
    },
    ['m1', 'm2', 'm3', 'm4'],
  )
})
afterAll(async () => server?.close())

const models = () => ['m1', 'm2', 'm3', 'm4'].flatMap((m) => ['--model', `openai:${server.url}#${m}`])
const run = async (args: string[]) => {
  let out = ''
  const code = await evalCommand(['--task', 'live', '--bench', bench, ...models(), '--answer-seconds', '20', ...args], (s) => (out += s))
  return { code, out }
}
const answerCalls = () => server.requests.filter((r) => r.stream === true).length
const row = (out: string, method: string) => new RegExp(`^\\| ${method} \\| ([\\d.]+)`, 'm').exec(out)?.[1]

describe('chorus eval --task live (scripted models)', () => {
  it('runs each question as a real round and scores every method, with measured tokens and phase times', async () => {
    const cache = join(dir, 'full.jsonl')
    const { code, out } = await run(['--cache', cache])
    expect(code).toBe(0)
    // m1 alone is always right; majority is wrong on odd a (two nodes agree on a+b+1).
    expect(row(out, 'swarm')).toBe('100.0')
    expect(row(out, 'majority vote')).toBe('50.0')
    expect(row(out, 'best single')).toBe('100.0')
    expect(row(out, 'oracle')).toBe('100.0')
    expect(out).toContain('Best single model: openai:')
    // Per question: 4 answers (20 + 10 tokens each) and 24 verdicts (6 pairs, both orders, two
    // judges each; 100 + 1 tokens each).
    const tokens = /Tokens per question, as the backends reported them: (\d+) prompt, (\d+) completion/.exec(out)
    expect(tokens).not.toBeNull()
    expect(Number(tokens![1])).toBe(4 * 20 + 24 * 100)
    expect(Number(tokens![2])).toBe(4 * 10 + 24 * 1)
    expect(out).toMatch(/Phase latency, median: join \d+ ms, answer \d+ ms, .*round \d+ ms/)
    const lines = (await readFile(cache, 'utf8')).trim().split('\n')
    expect(lines).toHaveLength(1 + QUESTIONS.length)
  })

  it('resumes from its cache: finished questions are not asked again', async () => {
    const cache = join(dir, 'resume.jsonl')
    expect((await run(['--cache', cache, '--limit', '2'])).code).toBe(0)
    const before = answerCalls()
    const { code, out } = await run(['--cache', cache])
    expect(code).toBe(0)
    expect(answerCalls() - before).toBe(2 * 4) // only questions 3 and 4, four nodes each
    expect(row(out, 'swarm')).toBe('100.0')
    expect(out).toContain('over 4 questions')
  })

  it('drops a line cut off by a crash and asks that question again', async () => {
    const cache = join(dir, 'torn.jsonl')
    expect((await run(['--cache', cache, '--limit', '2'])).code).toBe(0)
    const text = await readFile(cache, 'utf8')
    const lines = text.trimEnd().split('\n')
    await writeFile(cache, `${lines.slice(0, -1).join('\n')}\n${lines.at(-1)!.slice(0, 25)}`)
    const before = answerCalls()
    expect((await run(['--cache', cache, '--limit', '2'])).code).toBe(0)
    expect(answerCalls() - before).toBe(4)
    expect((await readFile(cache, 'utf8')).trim().split('\n')).toHaveLength(3)
  })

  it('refuses a cache made with other models, and --fresh starts over', async () => {
    const cache = join(dir, 'other.jsonl')
    expect((await run(['--cache', cache, '--limit', '1'])).code).toBe(0)
    await expect(
      evalCommand(['--task', 'live', '--bench', bench, '--model', `openai:${server.url}#m1`, '--nodes', '3', '--cache', cache], () => {}),
    ).rejects.toThrow(/different configuration/)
    const { code } = await run(['--cache', cache, '--limit', '1', '--attacker', '--fresh'])
    expect(code).toBe(0)
  })

  it('--attack: the attacker dresses its wrong answer as asked, and the report says how', async () => {
    const delimiter = await run(['--cache', join(dir, 'attack-delimiter.jsonl'), '--attacker', '--attack', 'delimiter', '--limit', '2'])
    expect(delimiter.code).toBe(0)
    expect(delimiter.out).toContain('--attack delimiter')
    expect(delimiter.out).toMatch(/^\| attacker's answer chosen: swarm \| 0\.0/m)
    await expect(run(['--cache', join(dir, 'attack-bad.jsonl'), '--attacker', '--attack', 'bribery'])).rejects.toThrow(/--attack takes injection, flattery, unicode, delimiter/)
    await expect(run(['--cache', join(dir, 'attack-bad.jsonl'), '--attack', 'unicode'])).rejects.toThrow(/--attack needs --attacker/)
  })

  it('--attacker: the injected answer loses to judges that ignore it and wins with judges that obey it', async () => {
    const honest = await run(['--cache', join(dir, 'attack-honest.jsonl'), '--attacker'])
    expect(honest.code).toBe(0)
    expect(honest.out).toMatch(/^\| attacker's answer chosen: swarm \| 0\.0/m)
    obey = true
    try {
      const fooled = await run(['--cache', join(dir, 'attack-obey.jsonl'), '--attacker'])
      expect(fooled.code).toBe(0)
      expect(Number(/^\| attacker's answer chosen: weighted BT \| ([\d.]+)/m.exec(fooled.out)![1])).toBeGreaterThan(0)
    } finally {
      obey = false
    }
  })

  it('fails clearly without models, without a benchmark, or with a dead server', async () => {
    await expect(evalCommand(['--task', 'live', '--bench', bench], () => {})).rejects.toThrow(/needs real models/)
    await expect(evalCommand(['--task', 'live', ...models()], () => {})).rejects.toThrow(/needs --bench/)
    await expect(evalCommand(['--task', 'live', '--bench', join(dir, 'missing.jsonl'), ...models()], () => {})).rejects.toThrow(/cannot read the benchmark/)
    await expect(
      evalCommand(['--task', 'live', '--bench', bench, '--cache', join(dir, 'dead.jsonl'), ...['a', 'b', 'c'].flatMap((m) => ['--model', `openai:http://127.0.0.1:9/v1#${m}`])], () => {}),
    ).rejects.toThrow(/is the server running/)
  })
})

describe('benchmark files', () => {
  it('reads GSM8K gold after ####, MATH and AIME answers as written, and rejects bad lines by number', async () => {
    const f = join(dir, 'mixed.jsonl')
    await writeFile(f, [JSON.stringify({ question: 'q1', answer: 'work\n#### 1,234' }), JSON.stringify({ problem: 'q2', answer: '\\{1,2\\}', unique_id: 'x' }), JSON.stringify({ id: 60, problem: 'q3', answer: 204 })].join('\n'))
    const b = await loadBenchmark(f)
    expect(b.questions.map((q) => [q.id, q.gold])).toEqual([
      ['1', '1234'],
      ['x', '\\{1,2\\}'],
      ['60', '204'],
    ])
    await writeFile(f, `${JSON.stringify({ question: 'q1', answer: '1' })}\n{oops\n`)
    await expect(loadBenchmark(f)).rejects.toThrow(/mixed.jsonl:2 is not JSON/)
    await writeFile(f, JSON.stringify({ answer: '1' }))
    await expect(loadBenchmark(f)).rejects.toThrow(/no "question" or "problem"/)
  })

  it('reads the shared benchmarks where present', async () => {
    const data = join(process.cwd(), '../shared/data/benchmarks')
    const files = await import('node:fs/promises').then((fs) => fs.readdir(data)).catch(() => undefined)
    if (files === undefined) return void console.warn(`skipped: no benchmarks at ${data}`)
    const gsm = await loadBenchmark(join(data, 'gsm8k-test.jsonl'))
    expect(gsm.questions).toHaveLength(1319)
    expect(gsm.questions[0]!.gold).toBe('18')
    const aime = await loadBenchmark(join(data, 'aime24.jsonl'))
    expect(aime.questions).toHaveLength(30)
  })
})
