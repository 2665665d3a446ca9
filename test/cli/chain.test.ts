import { mkdtempSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseEther, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readEvmKey } from '../../src/cli/evmKeyFile.js'
import { writeKeyFile } from '../../src/cli/keyFile.js'
import { ledgerCommand } from '../../src/cli/ledgerCommand.js'
import { anvilEngine, type LocalEngine } from '../../src/ledger/evm/localEngines.js'
import { signRequest } from '../../src/ledger/requests.js'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import { ident } from '../round/harness.js'
import { GATE_OFF, playRound } from '../ledger/compliance.js'

/**
 * The rollup from the command line, on anvil: deploy beside a ledger file, deposits paid on the
 * chain and credited by `anchor`, a batch proposed, checked and signed by a verifier with
 * `verify-batch`, posted, then disputed in vain; parameters read from the chain.
 */
const run = async (...args: string[]) => {
  let out = ''
  const code = await ledgerCommand(args, new AbortController().signal, (s) => (out += s))
  return { code, out }
}

describe('chorus ledger on an EVM chain (anvil)', () => {
  let engine: LocalEngine
  beforeAll(async () => {
    engine = await anvilEngine()
  })
  afterAll(async () => {
    await engine.close()
  })

  it('deploys, credits deposits, posts a batch a verifier rebuilt and signed, and refuses a dispute that would lose', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chorus-chain-cli-'))
    const file = join(dir, 'ledger.sqlite')
    const opKey = join(dir, 'operator.key')
    const operator = await writeKeyFile(opKey)
    const nodes = Array.from({ length: 5 }, (_, i) => ident(`node-${i}`))
    const gateway = ident('coordinator')
    const ledger = SqliteLedger.open({ path: file, operator, rules: { oldestRules: 1, ...GATE_OFF } })
    ledger.submit(signRequest(gateway, 0, { op: 'register', kind: 'gateway' }))
    for (const n of nodes) ledger.submit(signRequest(n, 0, { op: 'register', kind: 'node' }))
    ledger.close()
    const at = ['--file', file, '--operator-key', opKey]
    const keys = Object.fromEntries(['sequencer', 'verifier-0', 'verifier-1', 'payer'].map((k) => [k, join(dir, `${k}.evm.json`)]))
    for (const path of Object.values(keys)) {
      const address = (await run('evm-key', path)).out.trim()
      expect(address).toBe((await readEvmKey(path)).address)
      await engine.publicClient.request({ method: 'hardhat_setBalance' as never, params: [address, toHex(parseEther('100'))] as never })
    }
    await expect(run('evm-key', keys.payer!)).rejects.toThrow(/refusing to overwrite/)

    // Faucet money in the ledger would be unbacked on the chain: refused unless said so.
    const funded = join(dir, 'funded.sqlite')
    const f = SqliteLedger.open({ path: funded, operator })
    f.submit(signRequest(ident('funded'), 0, { op: 'register', kind: 'client' }))
    f.credit(ident('funded').id, 1n)
    f.close()
    await expect(run('deploy', '--rpc', engine.rpcUrl!, '--evm-key', keys.sequencer!, '--file', funded, '--operator-key', opKey)).rejects.toThrow(/no deposit on the chain backs/)
    expect((await run('deploy', '--rpc', engine.rpcUrl!, '--evm-key', keys.sequencer!, '--threshold', '1', '--challenge-window', '60', ...at)).out).toMatch(/rollup 0x[0-9a-fA-F]{40}/)
    await expect(run('deploy', '--rpc', engine.rpcUrl!, '--evm-key', keys.sequencer!, ...at)).rejects.toThrow(/deployed already/)
    const nodeKey = join(dir, 'verifier-node.key')
    await writeKeyFile(nodeKey)
    expect((await run('verifier', '--evm-key', keys['verifier-0']!, '--key', nodeKey, ...at)).out).toMatch(/bound to node/)
    for (const account of [gateway, ...nodes]) await run('deposit', account.id, account === gateway ? '60' : '2', '--evm-key', keys.payer!, ...at)

    expect((await run('anchor', '--evm-key', keys.sequencer!, ...at)).out).toMatch(/credited 6 deposit/)
    const l = SqliteLedger.open({ path: file, operator })
    expect(l.account(gateway.id)!.balance).toBe(60_000_000n)
    l.submit(signRequest(gateway, 1, { op: 'stake', amount: '50000000' }))
    for (const n of nodes) l.submit(signRequest(n, 1, { op: 'stake', amount: '2000000' }))
    for (let r = 0; r < 2; r++) l.settle(playRound(l, 5, { coordSeq: r + 1 }))
    l.close()

    // Proposed, not yet signed: one verifier checks it against its own replay and signs.
    expect((await run('anchor', ...at)).out).toMatch(/proposed in .*batch-proposal\.json: 0 of 1 signatures/)
    expect((await run('verify-batch', '--evm-key', keys['verifier-0']!, ...at)).out).toMatch(/^SIGNED batch 0/)
    const proposal = JSON.parse(await readFile(join(dir, 'batch-proposal.json'), 'utf8')) as { header: { rounds: number } }
    expect(proposal.header.rounds).toBe(2)
    expect((await run('anchor', '--evm-key', keys.sequencer!, ...at)).out).toMatch(/posted batch 0: 2 rounds/)
    expect((await run('anchor', '--evm-key', keys.sequencer!, ...at)).out).toMatch(/nothing to anchor/)
    // The batch conserves money: disputing it would lose the bond, so the command refuses.
    expect(await run('dispute', '0', '--evm-key', keys.payer!, ...at)).toMatchObject({ code: 1, out: expect.stringMatching(/conserves money/) })
    expect((await run('params', ...at)).out).toMatch(/ticketPrice +0/)
    // Nothing is final within the 60 s window, so there is nothing to pay out yet.
    expect(await run('claim', nodes[0]!.id, '--evm-key', keys.payer!, ...at)).toMatchObject({ code: 1, out: expect.stringMatching(/no final batch/) })
  })
})
