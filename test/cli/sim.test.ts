import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { cli } from './runCli.js'

/** `chorus sim` as a user runs it: a report, its charts, a sweep, and clear refusals. */
describe('chorus sim (CLI)', () => {
  const dirs: string[] = []
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  it('writes the report and its SVG charts, linked relative to the report, with a sweep', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-sim-'))
    dirs.push(dir)
    const out = join(dir, 'report.md')
    const { code, out: printed } = await cli('sim', '--scenario', 'sybil', '--rounds', '6', '--seed', '9', '--sweep-tickets', '0.01,0.5', '--out', out, '--charts', join(dir, 'charts'))
    expect(code).toBe(0)
    expect(printed).toMatch(/report written to .*report\.md, charts to/)
    const report = await readFile(out, 'utf8')
    expect(report).toMatch(/^# chorus sim: sybil/)
    expect(report).toMatch(/Seed `9`; 6 rounds/)
    expect(report).toContain('](charts/accuracy.svg)')
    expect(report).toContain('](charts/tickets.svg)')
    expect(report).toMatch(/\| 0\.5 \| non-winners \|/)
    const charts = (await readdir(join(dir, 'charts'))).sort()
    expect(charts).toEqual(['accuracy.svg', 'judge-weight.svg', 'reputation.svg', 'tickets.svg'])
    const svg = await readFile(join(dir, 'charts', 'tickets.svg'), 'utf8')
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/)
    expect(svg).toContain('break-even')
  })

  it('refuses bad input before running anything, saying what is wrong', async () => {
    expect(await cli('sim', '--scenario', 'nope')).toMatchObject({ code: 2, out: expect.stringMatching(/no scenario nope \(known: baseline, sybil, collusion, copier, injection, grinding\)/) })
    expect(await cli('sim', '--scenario', 'injection', '--sweep-susceptibility', '0,1.5')).toMatchObject({ code: 2, out: expect.stringMatching(/--sweep-susceptibility/) })
    expect(await cli('sim', '--scenario', 'baseline', '--sweep-tries', '2')).toMatchObject({ code: 2, out: expect.stringMatching(/more joiners than members/) })
    expect(await cli('sim', '--scenario', 'sybil', '--forfeit', 'losers')).toMatchObject({ code: 2, out: expect.stringMatching(/--forfeit is unproven, no-shows, non-winners, not losers/) })
    const dir = await mkdtemp(join(tmpdir(), 'chorus-sim-'))
    dirs.push(dir)
    const bad = join(dir, 'population.json')
    await writeFile(bad, JSON.stringify({ groups: [{ behaviour: 'honest', count: 5, skill: 0.7, judgeAccuracy: 0.8, susceptibility: { injection: 2 } }] }))
    expect(await cli('sim', '--population', bad)).toMatchObject({ code: 2, out: expect.stringMatching(/population\.json: group 0: susceptibility\.injection is a probability/) })
  })
})
