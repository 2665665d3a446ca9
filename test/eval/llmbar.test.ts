import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { evalCommand } from '../../src/cli/evalCommand.js'
import { measureLlmbarJudges } from '../../src/eval/llmbar.js'

const DATA = resolve(process.env.CHORUS_DATA ?? '../shared/data')
const present = existsSync(`${DATA}/llmbar/Natural`) && existsSync(`${DATA}/zeroeval/gsm`)
if (!present) console.warn(`skipping the LLMBar and eval command tests: no data at ${DATA} (set CHORUS_DATA)`)

describe.skipIf(!present)('judges measured on LLMBar', () => {
  it('reads six judges in both orders, with GPT-4 the most accurate and the least position-biased', async () => {
    const natural = await measureLlmbarJudges(DATA, 'natural')
    expect(natural.map((j) => j.judge).sort()).toEqual(['ChatGPT', 'ChatGPT-0301', 'Falcon', 'GPT-4', 'LLaMA2', 'PaLM2'])
    const gpt4 = natural.find((j) => j.judge === 'GPT-4')!
    expect(gpt4.verdicts).toBe(200)
    expect(gpt4.accuracy).toBeGreaterThan(0.9)
    expect(gpt4.model.positionBias!).toBeLessThan(0.05)
    const falcon = natural.find((j) => j.judge === 'Falcon')!
    expect(falcon.firstRate).toBeGreaterThan(0.7)
    // Adversarial pairs are built to fool judges: every judge does worse on them.
    const all = await measureLlmbarJudges(DATA, 'all')
    for (const j of all) expect(j.accuracy).toBeLessThan(natural.find((n) => n.judge === j.judge)!.accuracy)
  })

  it('chorus eval prints a report table for a judge sweep and for LLMBar judges', async () => {
    let out = ''
    await evalCommand(['--data', DATA, '--task', 'gsm', '--limit', '15', '--judge-accuracy', '0.8'], (s) => (out += s))
    expect(out).toMatch(/\| swarm \| \d+\.\d \[/)
    out = ''
    await evalCommand(['--data', DATA, '--task', 'math-l5', '--limit', '10', '--judges', 'llmbar'], (s) => (out += s))
    expect(out).toMatch(/\| method \| GPT-4 \|.*\| mixed \|/)
    expect(out).toMatch(/GPT-4: measured accuracy 95\.5 %/)
  })

  it('chorus eval --task prd scores the swarm, pooled BT and every reviewer against people', async () => {
    let out = ''
    await evalCommand(['--data', DATA, '--task', 'prd'], (s) => (out += s))
    expect(out).toMatch(/\| swarm \| \d+\.\d \[/)
    expect(out).toMatch(/\| BT, all verdicts incl\. self-judging \|/)
    expect(out).toMatch(/\| gpt4 alone \|/)
    // The swarm agrees with people far more often than chance (50 %) on pair order.
    const m = /\| swarm \| (\d+\.\d)/.exec(out)!
    expect(Number(m[1])).toBeGreaterThan(65)
    // Self-preference, measured: GPT-4 gives its own answer clearly more than the others give it.
    const gpt4 = /^\| gpt4 \| ([\d.]+) % \| ([\d.]+) % \| ([\d.]+) \| (\d+) \|$/m.exec(out)!
    expect(Number(gpt4[1])).toBeGreaterThan(Number(gpt4[2]) + 5)
    expect(Number(gpt4[3])).toBeGreaterThan(0.2)
    expect(Number(gpt4[4])).toBe(640)
  })

  it('chorus eval --task prd --calibration learns each reviewer\'s weight from people\'s verdicts on held-out questions', async () => {
    let out = ''
    await evalCommand(['--data', DATA, '--task', 'prd', '--calibration', '0.25'], (s) => (out += s))
    const scored = Number(/(\d+) questions scored/.exec(out)![1])
    expect(scored).toBeGreaterThan(50)
    expect(scored).toBeLessThan(75)
    const weights = Object.fromEntries([...out.matchAll(/(bard|claude|gpt35|gpt4|vicuna-13b) (\d\.\d\d)/g)].map((m) => [m[1]!, Number(m[2])]))
    // vicuna-13b agrees with people least and gpt4 most, so their learned weights order the same way.
    expect(weights['gpt4']).toBeGreaterThan(weights['vicuna-13b']! * 2)
    await expect(evalCommand(['--data', DATA, '--task', 'prd', '--calibration', '1.5'])).rejects.toThrow(/--calibration takes a share/)
  })

  it('chorus eval --injection sweeps a modelled attacker and draws the curve', async () => {
    let out = ''
    const chart = `${process.env.TMPDIR ?? '/tmp'}/chorus-injection-${process.pid}.svg`
    await evalCommand(['--data', DATA, '--task', 'gsm', '--limit', '40', '--injection', '0,0.6', '--chart', chart], (s) => (out += s))
    expect(out).toMatch(/\| method \| susceptibility 0 \| susceptibility 0\.6 \|/)
    const took = /^\| attacker's answer chosen: weighted BT \| ([\d.]+) \[[^|]*\| ([\d.]+)/m.exec(out)!
    expect(Number(took[2])).toBeGreaterThan(Number(took[1]))
    const svg = await import('node:fs/promises').then((fs) => fs.readFile(chart, 'utf8'))
    expect(svg).toContain('swarm: attacker wins')
    await expect(evalCommand(['--task', 'gsm', '--data', DATA, '--injection', '0.1', '--judge-accuracy', '0.6,0.7'])).rejects.toThrow(/one --judge-accuracy/)
  })

  it('refuses bad options clearly', async () => {
    await expect(evalCommand(['--task', 'chess'])).rejects.toThrow(/--task must be gsm, math-l5, zeroeval:<name>, replay \(with --file\), prd or live/)
    await expect(evalCommand(['--task', 'gsm', '--judge-accuracy', '2'])).rejects.toThrow(/--judge-accuracy/)
    await expect(evalCommand(['--task', 'gsm', '--data', '/nope'])).rejects.toThrow(/no ZeroEval data at \/nope/)
  })
})
