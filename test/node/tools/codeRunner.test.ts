import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { codeIn, runJavaScript, sandboxProblem, testsIn } from '../../../src/node/tools/codeRunner.js'

/**
 * The code runner's sandbox, attacked: an answer that reaches the host process through the vm
 * (`this.constructor.constructor('return process')()`) and then tries to write a file, start a
 * process, open a connection, loop for ever or eat the memory. Each must fail, and fail safely.
 */
const problem = sandboxProblem()
if (problem !== undefined && process.env.CI !== undefined) throw new Error(`the code runner's tests need its sandbox: ${problem}`)

const ESCAPE = "const g = this.constructor.constructor('return globalThis')(); const host = g.process; const mod = (n) => host.getBuiltinModule(n);"
const marker = (name: string) => join(tmpdir(), `chorus-escape-${name}-${process.pid}`)
const tests = ['add(1, 2) === 3', 'add(-1, 1) === 0']

describe.skipIf(problem !== undefined)('the code runner', () => {
  let server: ReturnType<typeof createServer>
  let port = 0
  let connections = 0
  beforeAll(async () => {
    server = createServer((s) => {
      connections++
      s.destroy()
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    port = (server.address() as { port: number }).port
  })
  afterAll(() => server.close())

  it('runs an answer against the tests the question gives', async () => {
    const question = 'Write add(a, b).\n```tests\nadd(1, 2) === 3\nadd(-1, 1) === 0\n// a comment\n```'
    expect(testsIn(question)).toEqual(tests)
    const answer = 'Here it is:\n```js\nfunction add(a, b) { return a + b }\n```'
    expect(await runJavaScript(codeIn(answer), testsIn(question))).toMatchObject({ passed: 2, total: 2 })
    expect(await runJavaScript('function add(a, b) { return a + b + (a < 0 ? 1 : 0) }', tests)).toMatchObject({ passed: 1, total: 2 })
    expect(await runJavaScript('this is not javascript', tests)).toMatchObject({ passed: 0, total: 2 })
  })

  it('cannot write a file, even from the host process', async () => {
    const code = `${ESCAPE} try { mod('fs').writeFileSync(${JSON.stringify(marker('write'))}, 'x') } catch {} function add(a, b) { return a + b }`
    const r = await runJavaScript(code, tests)
    expect(existsSync(marker('write'))).toBe(false)
    expect(r.passed).toBe(2)
  })

  it('cannot start a process', async () => {
    const code = `${ESCAPE} try { mod('child_process').execSync('touch ${marker('spawn')}') } catch {} try { mod('worker_threads') && new (mod('worker_threads').Worker)('1') } catch {} function add() { return 0 }`
    await runJavaScript(code, tests)
    expect(existsSync(marker('spawn'))).toBe(false)
  })

  it('cannot reach the network, not even this machine’s loopback', async () => {
    // It keeps its process alive past the harness (exit disabled) and dials for a while.
    const code = `${ESCAPE} host.exit = () => {}; const dial = () => { try { mod('net').connect(${port}, '127.0.0.1').on('error', () => {}) } catch {} ; try { g.fetch('http://127.0.0.1:${port}/').catch(() => {}) } catch {} }; dial(); g.setInterval(dial, 50); function add(a, b) { return a + b }`
    const r = await runJavaScript(code, tests, { wallMs: 1_500, cpuSeconds: 2, memoryMb: 128 })
    await new Promise((res) => setTimeout(res, 200))
    expect(connections).toBe(0)
    expect(r.passed).toBe(2)
  })

  it('stops an endless loop, in the answer or in a test, and a loop left running after the result', async () => {
    const loop = await runJavaScript('while (true) {}', tests, { wallMs: 5_000, cpuSeconds: 1, memoryMb: 128 })
    expect(loop).toMatchObject({ passed: 0, total: 2 })
    expect(loop.ms).toBeLessThan(4_000)
    const inTest = await runJavaScript('function add() { for (;;) {} }', tests, { wallMs: 5_000, cpuSeconds: 1, memoryMb: 128 })
    expect(inTest.passed).toBe(0)
    const t0 = performance.now()
    // Exit disabled and a timer left behind: the run ends when its result is in.
    const lingering = await runJavaScript(`${ESCAPE} host.exit = () => {}; g.setInterval(() => {}, 1000); function add(a, b) { return a + b }`, tests, { wallMs: 5_000, cpuSeconds: 2, memoryMb: 128 })
    expect(lingering.passed).toBe(2)
    expect(performance.now() - t0).toBeLessThan(3_000)
  })

  it('survives a memory bomb: the run fails, this process does not', async () => {
    const bomb = await runJavaScript('const a = []; for (;;) a.push(new Float64Array(1 << 24).fill(1))', tests, { wallMs: 8_000, cpuSeconds: 5, memoryMb: 128 })
    expect(bomb.passed).toBe(0)
    const heap = await runJavaScript('const a = []; for (;;) a.push({ x: Math.random(), y: [1, 2, 3] })', tests, { wallMs: 8_000, cpuSeconds: 5, memoryMb: 64 })
    expect(heap.passed).toBe(0)
    expect(await runJavaScript('function add(a, b) { return a + b }', tests)).toMatchObject({ passed: 2 })
  })

  it('cannot forge its result line: the nonce was read before it ran', async () => {
    const code = `${ESCAPE} host.stdout.write('{"passed":99,"total":2}\\n'); host.stdout.write(JSON.stringify({ passed: 99, total: 2 }) + '\\n'); function add() { return 42 }`
    expect(await runJavaScript(code, tests)).toMatchObject({ passed: 0, total: 2 })
  })
})

describe.skipIf(problem !== undefined)('the code runner as a judge’s tool, in a round', () => {
  it('decides pairs by the tests the question gives, and the verdicts carry the counts', async () => {
    const { createEmbeddedSwarm } = await import('../../../src/cli/embeddedSwarm.js')
    const { InstantBackend } = await import('../../../src/models/instant.js')
    const { codeTools, combineTools, mathsTools } = await import('../../../src/node/tools/nodeTools.js')
    const good = '```js\nfunction add(a, b) { return a + b }\n```'
    const bad = '```js\nfunction add(a, b) { return a - b }\n```'
    const answers = [good, bad, good.replace('a + b', 'b + a'), bad.replace('a - b', 'a * b'), good]
    class Fixed extends InstantBackend {
      constructor(private readonly text: string) {
        super('fixed')
      }
      override async answer(): Promise<string> {
        return this.text
      }
    }
    const swarm = createEmbeddedSwarm({ nodes: 5, backendFor: (_id, i) => new Fixed(answers[i]!), keySeed: 'code-tool', toolsFor: () => combineTools([mathsTools(), codeTools()]) })
    try {
      const r = await swarm.ask('Write add(a, b).\n```tests\nadd(1, 2) === 3\nadd(2, 2) === 4\n```', { answer: { type: 'free', marker: 'last' } })
      const verdicts = r.transcript.filter((m) => m.env.type === 'VerdictReveal').flatMap((m) => (m.env.body as { verdicts: { v: string; e?: number[] }[] }).verdicts)
      // Maths evidence (6 integers), then the code runner's: passed, tests, ran, for each answer.
      for (const v of verdicts) {
        const [pa, ta, , pb, tb] = v.e!.slice(6)
        expect([ta, tb]).toEqual([2, 2])
        if (pa !== pb) expect(v.v).toBe(pa! > pb! ? 'A' : 'B')
      }
      expect(r.outcome.answer).toMatch(/a \+ b|b \+ a/)
    } finally {
      await swarm.stop()
    }
  }, 60_000)
})
