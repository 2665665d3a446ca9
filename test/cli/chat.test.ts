import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningGateway, startGateway } from '../../src/cli/up.js'
import { InstantBackend } from '../../src/models/instant.js'
import { cli } from './runCli.js'

/** Runs the built CLI with `input` on stdin; its exit code and stdout + stderr. */
function withInput(input: string, ...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('node', ['dist/src/cli/main.js', ...args])
    let out = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (out += d))
    p.on('close', (code) => resolve({ code, out }))
    p.stdin.end(input)
  })
}

describe('chorus ask and chorus chat against a gateway', () => {
  let gw: RunningGateway
  beforeAll(async () => {
    gw = await startGateway({ host: '127.0.0.1', port: 0, nodes: 3, models: [], apiKeys: [], answerSeconds: 5, maxRounds: 2 }, Array.from({ length: 3 }, (_, i) => new InstantBackend(`c${i}`)))
  })
  afterAll(() => gw.close())

  it('ask reads the question from stdin, and --timeout gives up with the gateway’s 504', async () => {
    const piped = await withInput('What is 2 + 2?\n', 'ask', '--url', gw.url)
    expect(piped.code).toBe(0)
    expect(piped.out).toMatch(/^instant answer \d\n/)
    expect(piped.out).toMatch(/round [0-9a-f]{16}…: ranked, 3 answers/)
    const late = await cli('ask', '--url', gw.url, '--timeout', '0.001', 'too slow?')
    expect(late.code).toBe(2)
    expect(late.out).toMatch(/504|deadline/)
    expect((await cli('ask', '--url', gw.url, '--timeout', 'soon', 'x')).out).toMatch(/--timeout is not a number: soon/)
  })

  it('chat answers each line with the conversation so far, a line about each round, and ends on /exit', async () => {
    const { code, out } = await withInput('What is 1 + 1?\n\nAnd then?\n/reset\n/exit\nnever asked\n', 'chat', '--url', gw.url)
    expect(code).toBe(0)
    expect(out.match(/instant answer \d/g)).toHaveLength(2)
    expect(out.match(/— round [0-9a-f]{16}…: ranked, 3 answers/g)).toHaveLength(2)
    expect(out).toContain('(conversation forgotten)')
    // The second question went with the first and its answer: three messages in its round.
    const rounds = await fetch(`${gw.url}/rounds?limit=5`).then((r) => r.json() as Promise<{ data: { question: string }[] }>)
    expect(rounds.data.some((r) => r.question === 'And then?')).toBe(true)
  })

  it('chat ends at the end of its input, and says so when the gateway is unreachable', async () => {
    const { code, out } = await withInput('hello?\n', 'chat', '--url', 'http://127.0.0.1:9/v1')
    expect(code).toBe(0)
    expect(out).toMatch(/error: cannot reach the gateway at http:\/\/127\.0\.0\.1:9\/v1: its port is one that HTTP clients refuse to use/)
  })
})
