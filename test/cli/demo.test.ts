import { CURRENT_RULES } from '../../src/protocol/rulesVersions.js'
import { describe, expect, it } from 'vitest'
import { mkdtempSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { demo } from '../../src/cli/demo.js'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import { verifyLedger } from '../../src/ledger/verifyLedger.js'
import type { Envelope } from '../../src/protocol/envelope.js'
import { genesisLedgerView } from '../../src/round/ledgerView.js'
import { verifyTranscript } from '../../src/round/verify.js'
import { completion, scriptedServer, sendJson, sendSse } from '../models/scriptedServer.js'
import { cli } from './runCli.js'

const dir = mkdtempSync(join(tmpdir(), 'chorus-demo-'))
/** Every run here keeps its ledger in a temporary folder (never the repository's own .chorus). */
const run = async (args: string[], where = dir) => {
  let out = ''
  const code = await demo(args.includes('--no-ledger') ? args : [...args, '--ledger-dir', where], (s) => (out += s))
  return { code, out }
}

describe('chorus demo on an OpenAI-compatible server', () => {
  it('runs a ranked round where the server-side judge prefers the right answer', async () => {
    // Nodes answer by their position in line: two say 42, one says 41; the judge prefers "42".
    let k = 0
    const server = await scriptedServer((body, res) => {
      const msgs = body.messages as { content: string }[]
      const prompt = msgs.at(-1)!.content
      if (body.logprobs) {
        const first = /\[Answer A\]\n│ (.*)\n/.exec(prompt)![1]
        const pA = first === '42' ? 0.9 : 0.1
        return sendJson(res, 200, completion('A', [{ token: 'A', logprob: Math.log(pA) }, { token: 'B', logprob: Math.log(1 - pA) }]))
      }
      return sendSse(res, [k++ % 3 === 2 ? '41' : '42'])
    }, ['m'])
    try {
      // This scripted judge knows one question only: it would fail the calibration challenge.
      const { code, out } = await run(['--json', '--nodes', '3', '--calibration', 'off', '--model', `openai:${server.url}#m`, 'What is 6 × 7?'])
      expect(code).toBe(0)
      const r = JSON.parse(out)
      expect(r.tinyModels).toBe(false)
      expect(r.outcome.ranked).toBe(true)
      expect(r.outcome.answer).toBe('42')
      expect(r.verified).toBe(true)
    } finally {
      await server.close()
    }
  })
})

describe('chorus demo on tiny generated models', () => {
  it('--json: the outcome recomputed from the transcript matches, judges never judge their own answer, the winner scores top', async () => {
    const { code, out } = await run(['--json', '--nodes', '4', 'What is 2+2?'])
    expect(code).toBe(0)
    const r = JSON.parse(out)
    expect(r.tinyModels).toBe(true)
    expect(r.verified).toBe(true)
    const envs = r.transcript.envelopes as Envelope[]
    // Verified against the ledger as it stood at the head the round named.
    const file = SqliteLedger.readOnly(join(dir, '.chorus', 'ledger.sqlite'))
    const view = file.viewAt((envs[0] as Envelope<'Query'>).body.ledgerHead)!
    // A round on a ledger is keyed by its beacons: verification checks them against the ledger's.
    const issued = { members: file.beaconOf(envs[0]!.round, 'members'), assignment: file.beaconOf(envs[0]!.round, 'assignment') }
    file.close()
    expect((envs[0] as Envelope<'Query'>).body.rules.version).toBe(CURRENT_RULES.version)
    expect(() => verifyTranscript(envs, { ledger: genesisLedgerView() })).toThrow(/ledger head/)
    expect(() => verifyTranscript(envs, { ledger: view })).toThrow(/beacons/)
    const v = verifyTranscript(envs, { ledger: view, beacons: (_round, phase) => issued[phase] })
    expect(v.outcome.winner).toBe(r.outcome.winner)
    // chorus verify reads both from the ledger file it is given, and says what it lacks without one.
    const saved = join(dir, 'round.json')
    writeFileSync(saved, JSON.stringify(r.transcript))
    expect(await cli('verify', saved, '--ledger-file', join(dir, '.chorus', 'ledger.sqlite'))).toMatchObject({ code: 0, out: expect.stringMatching(/^VALID round/) })
    // (Run from the repository: its own .chorus ledger, if any, never had this round's head.)
    const without = await cli('verify', saved)
    expect(without.code).not.toBe(0)
    expect(without.out).toMatch(/give the ledger it ran on|never had the head this round names/)
    expect(v.outcome.scores).toEqual(r.outcome.scores)
    const verdicts = envs.filter((e) => e.type === 'VerdictReveal') as Envelope<'VerdictReveal'>[]
    expect(verdicts.length).toBeGreaterThan(0)
    for (const vr of verdicts) for (const x of vr.body.verdicts) expect([x.a, x.b]).not.toContain(vr.from)
    if (r.outcome.ranked) expect(r.outcome.scores[0].node).toBe(r.outcome.winner)
    expect(Math.max(...r.outcome.scores.map((s: { score: number }) => s.score))).toBe(r.outcome.scores[0].score)
  })

  it('says plainly, at the top and the bottom, that tiny models are meaningless', async () => {
    const { out } = await run(['--nodes', '3', 'hello'])
    const lines = out.trim().split('\n')
    expect(lines[0]).toMatch(/tiny generated models/)
    expect(out.lastIndexOf('tiny generated models')).toBeGreaterThan(out.length - 400)
    expect(out).toMatch(/Winner [0-9a-f]{8}/)
    expect(out).toMatch(/Phases: join \d+ ms/)
  })

  it('keeps a ledger in the working directory: the swarm is paid, its record carries over, and the ledger replays', async () => {
    const here = mkdtempSync(join(tmpdir(), 'chorus-demo-'))
    const first = JSON.parse((await run(['--json', '--nodes', '3', 'first'], here)).out)
    const second = JSON.parse((await run(['--json', '--nodes', '3', 'second'], here)).out)
    // The same three nodes (keys derived from the workspace's operator key) in both rounds.
    expect(Object.keys(second.nodes).sort()).toEqual(Object.keys(first.nodes).sort())
    expect(second.settlement.seq).toBeGreaterThan(first.settlement.seq)
    expect(BigInt(second.settlement.pool)).toBeGreaterThan(0n)
    expect(second.usage.prompt + second.usage.completion).toBeGreaterThan(0)
    const path = join(here, '.chorus', 'ledger.sqlite')
    const v = await verifyLedger(path)
    expect(v.settlements).toBe(2)
    const ledger = SqliteLedger.readOnly(path)
    const operator = ledger.account(ledger.account(Object.keys(first.nodes)[0]!)!.operator)!
    // The nodes' operator was paid for both rounds; every node has answered twice.
    expect(operator.kind).toBe('operator')
    const ranked = Number(first.outcome.ranked) + Number(second.outcome.ranked)
    for (const id of Object.keys(first.nodes)) expect(ledger.account(id)!.reputation.answerRounds).toBe(ranked)
    ledger.close()
    expect(statSync(join(here, '.chorus', 'operator.key')).mode & 0o077).toBe(0)
  })

  it('says the calibration gate is off on tiny models; --calibration on makes them take it, and fail it', async () => {
    const here = mkdtempSync(join(tmpdir(), 'chorus-demo-gate-'))
    expect((await run(['--nodes', '3', 'x'], here)).out).toMatch(/Calibration gate off: every staked node judges \(tiny generated models judge at random/)
    const other = mkdtempSync(join(tmpdir(), 'chorus-demo-gate-'))
    const { out } = await run(['--nodes', '3', '--calibration', 'on', 'x'], other)
    expect(out).toMatch(/Calibration gate on: each node judges 20 known-answer pairs/)
    // Random judges: none gets 17 of 20, so no verdict weighs and the answer comes back unranked.
    expect(out.match(/node [0-9a-f]{8}: \d+ of 20 right — not admitted/g)).toHaveLength(3)
    const ledger = SqliteLedger.readOnly(join(other, '.chorus', 'ledger.sqlite'))
    expect(ledger.rules().calibration?.required).toBe(true)
    ledger.close()
    await expect(run(['--calibration', 'maybe', 'x'], other)).rejects.toThrow(/--calibration takes on or off/)
  })

  it('--no-ledger: the round names the genesis head and nobody is paid', async () => {
    const r = JSON.parse((await run(['--json', '--nodes', '3', '--no-ledger', 'x'])).out)
    expect(r.verified).toBe(true)
    expect(r.settlement).toBeUndefined()
    expect(r.transcript.envelopes[0].body.fee).toBe('0')
  })

  it('refuses bad settings with a clear error', async () => {
    await expect(run(['--nodes', '0'])).rejects.toThrow(/--nodes/)
    await expect(run(['--model', 'gpt-4'])).rejects.toThrow(/is not a model/)
    await expect(run(['--model', 'openai:nonsense'])).rejects.toThrow(/openai:<base url>#<model>/)
    await expect(run(['--config', '/no/such.json'])).rejects.toThrow(/cannot read config/)
  })
})
