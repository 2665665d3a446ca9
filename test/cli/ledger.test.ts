import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeKeyFile } from '../../src/cli/keyFile.js'
import { ledgerCommand } from '../../src/cli/ledgerCommand.js'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'

const run = async (...args: string[]) => {
  let out = ''
  const code = await ledgerCommand(args, new AbortController().signal, (s) => (out += s))
  return { code, out }
}

describe('chorus ledger', () => {
  it('registers, credits, stakes, unbonds, shows, exports, backs up and verifies a ledger file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chorus-ledger-cli-'))
    const file = join(dir, 'ledger.sqlite')
    const opKey = join(dir, 'operator.key')
    const nodeKey = join(dir, 'node.key')
    const operator = await writeKeyFile(opKey)
    const node = await writeKeyFile(nodeKey)
    SqliteLedger.open({ path: file, operator }).close()
    const at = ['--file', file, '--operator-key', opKey]

    expect((await run('register', '--kind', 'node', '--key', nodeKey, ...at)).out).toMatch(/register applied as entry 2/)
    expect((await run('credit', node.id, '2.5', ...at)).out).toMatch(/credited 2.5/)
    await run('stake', '2', '--key', nodeKey, ...at)
    await run('unbond', '0.5', '--key', nodeKey, ...at)
    const shown = await run('show', node.id, ...at)
    expect(shown.out).toMatch(/balance +0\.5/)
    expect(shown.out).toMatch(/stake +1\.5, unbonding 0\.5 from/)
    // Too early to withdraw; a refusal names its reason and changes nothing.
    await expect(run('withdraw', '--key', nodeKey, ...at)).rejects.toMatchObject({ code: 'NOT_YET' })
    await expect(run('stake', '1000', '--key', nodeKey, ...at)).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' })
    await expect(run('stake', 'lots', '--key', nodeKey, ...at)).rejects.toThrow(/not an amount/)
    const exported = (await run('export', ...at)).out.trim().split('\n').map((l) => JSON.parse(l))
    expect(exported.map((e) => e.kind)).toEqual(['genesis', 'request', 'credit', 'request', 'request'])
    const backup = join(dir, 'backup.sqlite')
    expect((await run('backup', backup, ...at)).out).toMatch(/backed up/)
    await expect(run('backup', backup, ...at)).rejects.toThrow(/exists/)
    expect((await run('verify', backup)).out).toMatch(/^VALID .*5 entries/)
    expect((await run('verify', file)).code).toBe(0)
    expect((await run('show', ...at)).out).toMatch(/head [0-9a-f]{64} \(entry 5\)/)
  })

  it('works against a served ledger: writes signed by the account, the faucet by the operator key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chorus-ledger-cli-'))
    const file = join(dir, 'ledger.sqlite')
    const opKey = join(dir, 'operator.key')
    const clientKey = join(dir, 'client.key')
    await writeKeyFile(opKey)
    const client = await writeKeyFile(clientKey)
    const stop = new AbortController()
    let served = ''
    // A bad forfeit rule is refused before any file is made.
    await expect(ledgerCommand(['serve', '--file', file, '--operator-key', opKey, '--port', '0', '--forfeit', 'everyone'], stop.signal, () => {})).rejects.toThrow(/--forfeit is unproven, no-shows, non-winners/)
    expect(existsSync(file)).toBe(false)
    const serving = ledgerCommand(['serve', '--file', file, '--operator-key', opKey, '--port', '0', '--forfeit', 'no-shows'], stop.signal, (s) => (served += s))
    for (let i = 0; i < 100 && !/forfeit rule/.test(served); i++) await new Promise((r) => setTimeout(r, 20))
    const url = /url +(\S+)/.exec(served)![1]!
    // The rule is the new file's, written in its genesis.
    expect(served).toMatch(/forfeit rule no-shows\n/)
    try {
      await run('register', '--kind', 'client', '--key', clientKey, '--ledger', url)
      expect((await run('credit', client.id, '3', '--ledger', url, '--operator-key', opKey)).out).toMatch(/credited 3/)
      // Another key is not the operator: the served ledger refuses its faucet.
      await expect(run('credit', client.id, '3', '--ledger', url, '--operator-key', clientKey)).rejects.toMatchObject({ code: 'BAD_SIGNATURE' })
      expect((await run('show', client.id, '--ledger', url, '--json')).out).toMatch(/"balance":"3000000"/)
    } finally {
      stop.abort()
      await serving
    }
    expect((await run('verify', file)).out).toMatch(/^VALID/)
  })

  it('says what is wrong', async () => {
    await expect(run('frobnicate')).rejects.toThrow(/unknown ledger command/)
    await expect(run('verify', '/no/such/ledger.sqlite')).rejects.toThrow(/no ledger file/)
    await expect(run('register', '--kind', 'wizard')).rejects.toThrow(/--kind node\|gateway\|client\|operator/)
  })
})
