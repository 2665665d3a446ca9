import { execFile } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { transcriptFile } from '../../src/round/transcript.js'
import { Harness } from '../round/harness.js'

/** Runs the built CLI (npm test builds before it runs the tests). */
const run = async (...args: string[]) => {
  try {
    const { stdout } = await promisify(execFile)('node', ['dist/src/cli/main.js', ...args])
    return { code: 0, stdout }
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string }
    return { code: err.code, stdout: err.stdout + err.stderr }
  }
}

describe('chorus verify', () => {
  it('says VALID for a real transcript and INVALID for a tampered copy', async () => {
    const h = new Harness({ nodes: 5 })
    const dir = await mkdtemp(join(tmpdir(), 'chorus-'))
    const file = transcriptFile(h.outcome!.transcript)
    const good = join(dir, 'good.json')
    await writeFile(good, JSON.stringify(file))
    const ok = await run('verify', good)
    expect(ok.code).toBe(0)
    expect(ok.stdout).toContain(`VALID round ${h.round.roundId}`)
    const answers = file.envelopes.filter((e) => e.type === 'AnswerReveal') as { body: { answer: string } }[]
    answers[0]!.body.answer = 'tampered'
    const bad = join(dir, 'bad.json')
    await writeFile(bad, JSON.stringify(file))
    const no = await run('verify', bad)
    expect(no.code).toBe(1)
    expect(no.stdout).toMatch(/^INVALID message \d+: bad signature/)
  })

  it('explains usage errors', async () => {
    expect((await run('verify')).code).toBe(2)
    expect((await run('verify', '/no/such/file')).stdout).toMatch(/cannot read/)
    expect((await run('frobnicate')).stdout).toMatch(/unknown command/)
    expect((await run('help')).stdout).toMatch(/chorus verify/)
  })
})
