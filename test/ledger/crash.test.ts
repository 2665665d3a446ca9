import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import { verifyLedger } from '../../src/ledger/verifyLedger.js'

/**
 * Crash safety as an operator meets it: a real `chorus up` settles round after round on its
 * workspace ledger while requests keep coming, and is killed with SIGKILL at random moments (a
 * fixed seed, so a failure can be reproduced) — inside a settlement's transaction as likely as
 * not. After every kill the ledger file must replay from its log to exactly its state, hold
 * exactly the money the faucet made, and the next start must carry on from it.
 */
const KILLS = 6

function prng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

async function startUp(dir: string): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, ['dist/src/cli/main.js', 'up', '--port', '0', '--nodes', '4', '--model', 'test:instant', '--answer-seconds', '2', '--ledger-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] })
  let seen = ''
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      seen += d.toString()
      const m = /Chorus gateway on (\S+)/.exec(seen)
      if (m) resolve(m[1]!)
    }
    proc.stdout!.on('data', onData)
    proc.stderr!.on('data', onData)
    proc.once('exit', (code) => reject(new Error(`up exited (${code}) before it was ready:\n${seen}`)))
  })
  return { proc, url }
}

describe('the ledger under kill -9', () => {
  it(`replays exactly after each of ${KILLS} SIGKILLs of a settling chorus up, and carries on`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chorus-crash-'))
    const path = join(dir, '.chorus', 'ledger.sqlite')
    const random = prng(20261201)
    let settlements = 0
    for (let k = 0; k < KILLS; k++) {
      const { proc, url } = await startUp(dir)
      let stop = false
      const load = Array.from({ length: 3 }, async () => {
        while (!stop) {
          await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content: `crash ${k} ${Math.random()}` }] }) }).catch(() => {})
        }
      })
      await new Promise((r) => setTimeout(r, 150 + Math.floor(random() * 900)))
      proc.kill('SIGKILL')
      if (proc.exitCode === null) await once(proc, 'exit')
      stop = true
      await Promise.all(load)

      const v = await verifyLedger(path)
      expect(v.settlements).toBeGreaterThanOrEqual(settlements)
      settlements = v.settlements
      const file = SqliteLedger.readOnly(path)
      const { held, created } = file.supply()
      file.close()
      expect(held).toBe(created)
    }
    // Rounds were settled between the kills, not only before the first.
    expect(settlements).toBeGreaterThan(KILLS)
  }, 120_000)
})
