import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli } from './runCli.js'
import { transcriptFile } from '../../src/round/transcript.js'
import { Harness } from '../round/harness.js'


describe('chorus verify', () => {
  it('says VALID for a real transcript and INVALID for a tampered copy', async () => {
    const h = new Harness({ nodes: 5 })
    const dir = await mkdtemp(join(tmpdir(), 'chorus-'))
    const file = transcriptFile(h.outcome!.transcript)
    const good = join(dir, 'good.json')
    await writeFile(good, JSON.stringify(file))
    const ok = await cli('verify', good)
    expect(ok.code).toBe(0)
    expect(ok.out).toContain(`VALID round ${h.round.roundId}`)
    const answers = file.envelopes.filter((e) => e.type === 'AnswerReveal') as { body: { answer: string } }[]
    answers[0]!.body.answer = 'tampered'
    const bad = join(dir, 'bad.json')
    await writeFile(bad, JSON.stringify(file))
    const no = await cli('verify', bad)
    expect(no.code).toBe(1)
    expect(no.out).toMatch(/^INVALID message \d+: bad signature/)
  })

  it('says when a round was private (its prompt went to the members alone)', async () => {
    const h = new Harness({ nodes: 4, request: { private: true } })
    const dir = await mkdtemp(join(tmpdir(), 'chorus-'))
    const path = join(dir, 'private.json')
    await writeFile(path, JSON.stringify(transcriptFile(h.outcome!.transcript)))
    const ok = await cli('verify', path)
    expect(ok.code).toBe(0)
    expect(ok.out).toContain('rules 1, private (the prompt went to the members alone)')
  })

  it('explains usage errors', async () => {
    expect((await cli('verify')).code).toBe(2)
    expect((await cli('verify', '/no/such/file')).out).toMatch(/cannot read/)
    expect((await cli('frobnicate')).out).toMatch(/unknown command/)
    expect((await cli('help')).out).toMatch(/chorus verify/)
  })
})
