import { runJavaScript, sandboxProblem } from '../src/node/tools/codeRunner.js'
import { type Figure, median } from './stats.js'

/**
 * The code runner: one code answer run against its tests in the sandbox (a new user and network
 * namespace, rlimits, Node's permission model), from the call to the verdict; median of 10.
 */
export const figures = ['sandbox_run_ms']

export async function run(): Promise<Figure[]> {
  const problem = sandboxProblem()
  if (problem !== undefined) throw new Error(`no sandbox here: ${problem}`)
  const code = 'function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) }'
  const tests = ['fib(10) === 55', 'fib(20) === 6765', 'fib(1) === 1']
  const ms: number[] = []
  for (let i = 0; i < 11; i++) {
    const r = await runJavaScript(code, tests)
    if (r.passed !== 3) throw new Error(`the sandboxed run failed: ${r.failure ?? `${r.passed}/3`}`)
    if (i > 0) ms.push(r.ms)
  }
  return [{ name: 'sandbox_run_ms', value: median(ms), unit: 'ms' }]
}
