import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * The code runner: runs a JavaScript code answer against tests the question gives, in a child
 * process that cannot reach the network, write a file, start a process or outlive its limits:
 *
 * - `unshare -rn`: a new user and network namespace, with no interface but a loopback that is down
 *   (Node's permission model alone lets network through, so it is no sandbox by itself);
 * - `prlimit`: CPU seconds, address space, no file bigger than 0 bytes, few open files;
 * - Node's permission model: reading only the run's own folder, no writing, no child processes,
 *   no workers, no native addons; a heap cap; an empty environment;
 * - a wall-clock deadline after which the whole process group is killed.
 *
 * The answer and the tests run in a `vm` context of their own, so they do not share globals with
 * the harness; the harness reads a nonce from stdin before any of them runs and prints its result
 * after it, so an answer that escapes the context still cannot forge the result line. Where the
 * isolation is not available (no user namespaces, no prlimit) the runner refuses to enable.
 */
export interface CodeRunLimits {
  wallMs: number
  cpuSeconds: number
  memoryMb: number
}

export const DEFAULT_CODE_LIMITS: CodeRunLimits = { wallMs: 5_000, cpuSeconds: 3, memoryMb: 256 }

export interface CodeRun {
  passed: number
  total: number
  /** Why the run produced no result, if it did not (timeout, crash, out of memory). */
  failure?: string
  ms: number
}

export class SandboxUnavailableError extends Error {
  readonly code = 'SANDBOX_UNAVAILABLE'
}

/** Whether this machine can isolate a run as above; the reason where it cannot. */
export function sandboxProblem(): string | undefined {
  const net = spawnSync('unshare', ['-rn', 'cat', '/proc/net/dev'], { encoding: 'utf8', timeout: 5_000 })
  if (net.error !== undefined || net.status !== 0) return `no unprivileged network namespace (unshare -rn): ${net.error?.message ?? net.stderr.trim()}`
  // Only the loopback (down) may be there.
  if (net.stdout.split('\n').slice(2).some((l) => l.trim() !== '' && !/^\s*lo:/.test(l))) return 'unshare -rn left a network interface'
  const limit = spawnSync('prlimit', ['--cpu=1', 'true'], { timeout: 5_000 })
  if (limit.error !== undefined || limit.status !== 0) return 'no prlimit (util-linux) to bound CPU time and memory'
  return undefined
}

/** The tests a question gives: each non-empty line of a ```tests fenced block, an expression that must be true. */
export function testsIn(question: string): string[] {
  const m = /```\s*tests?\s*\n([\s\S]*?)```/i.exec(question)
  return m === null ? [] : m[1]!.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('//'))
}

/** The code of an answer: its last ```js fenced block (or any fence), else the whole answer. */
export function codeIn(answer: string): string {
  const blocks = [...answer.matchAll(/```[ \t]*(?:js|javascript|mjs)?[ \t]*\n([\s\S]*?)```/gi)]
  return blocks.length === 0 ? answer : blocks.at(-1)![1]!
}

const HARNESS = `
import { readFileSync } from 'node:fs'
import vm from 'node:vm'
const nonce = readFileSync(0, 'utf8').trim()
const write = process.stdout.write.bind(process.stdout)
const stringify = JSON.stringify
const { code, tests, cpuMs, wallMs } = JSON.parse(readFileSync(new URL('./input.json', import.meta.url), 'utf8'))
// Its own deadline too, set before the answer runs: a run whose parent was killed (and so cannot
// kill it) still ends, whatever the answer left running or replaced.
const exit = process.exit.bind(process)
setTimeout(() => exit(1), wallMs).unref()
const context = vm.createContext({ console: { log() {}, error() {}, warn() {} } })
let loaded = true
try { vm.runInContext(code, context, { timeout: cpuMs }) } catch { loaded = false }
// A few turns of the event loop, as a program that started something would give it.
for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r))
await new Promise((r) => setTimeout(r, 20))
let passed = 0
if (loaded) for (const t of tests) { try { if (vm.runInContext(t, context, { timeout: cpuMs }) === true) passed++ } catch {} }
write(nonce + stringify({ passed, total: tests.length }) + '\\n')
exit(0)
`

/** Runs `code` against `tests`; every test is an expression that must evaluate to true. */
export async function runJavaScript(code: string, tests: readonly string[], limits: CodeRunLimits = DEFAULT_CODE_LIMITS): Promise<CodeRun> {
  const t0 = performance.now()
  const dir = await mkdtemp(join(tmpdir(), 'chorus-run-'))
  try {
    await writeFile(join(dir, 'harness.mjs'), HARNESS)
    await writeFile(join(dir, 'input.json'), JSON.stringify({ code, tests, cpuMs: limits.cpuSeconds * 1000, wallMs: limits.wallMs }))
    const nonce = randomBytes(16).toString('hex')
    const args = [
      '-rn',
      '--',
      'prlimit',
      `--cpu=${limits.cpuSeconds}`,
      `--as=${(limits.memoryMb + 1024) * 1024 * 1024}`,
      '--fsize=0',
      '--nofile=64',
      '--',
      process.execPath,
      '--experimental-permission',
      `--allow-fs-read=${dir}`,
      `--max-old-space-size=${limits.memoryMb}`,
      '--no-warnings',
      join(dir, 'harness.mjs'),
    ]
    const child = spawn('unshare', args, { cwd: dir, env: {}, stdio: ['pipe', 'pipe', 'pipe'], detached: true })
    let out = ''
    let err = ''
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        child.kill('SIGKILL')
      }
    }
    child.stdout.on('data', (d: Buffer) => {
      if (out.length < 65_536) out += d.toString()
      // The result is in: nothing the answer left running may outlive it.
      if (out.includes(`${nonce}{`) && out.slice(out.indexOf(nonce)).includes('\n')) killGroup()
    })
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 4_096) err += d.toString()
    })
    child.stdin.on('error', () => {})
    child.stdin.end(`${nonce}\n`)
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      killGroup()
    }, limits.wallMs)
    const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('close', (c, s) => resolve([c, s])))
    clearTimeout(timer)
    const ms = performance.now() - t0
    const line = out.split('\n').find((l) => l.startsWith(nonce))
    if (line !== undefined) {
      const r = JSON.parse(line.slice(nonce.length)) as { passed: number; total: number }
      return { passed: r.passed, total: r.total, ms }
    }
    const failure = timedOut ? `no result within ${limits.wallMs} ms` : signal !== null ? `killed by ${signal}` : /heap out of memory|Allocation failed/i.test(err) ? 'out of memory' : `exited ${status} without a result`
    return { passed: 0, total: tests.length, failure, ms }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
