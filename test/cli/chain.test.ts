import { mkdtempSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Hex, parseEther, toHex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { signBatch } from '../../src/ledger/evm/verifyBatch.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readEvmKey } from '../../src/cli/evmKeyFile.js'
import { writeKeyFile } from '../../src/cli/keyFile.js'
import { ledgerCommand } from '../../src/cli/ledgerCommand.js'
import { HttpLedgerClient } from '../../src/ledger/httpLedgerClient.js'
import { standingOf } from '../../src/ledger/standing.js'
import { anvilEngine, type LocalEngine } from '../../src/ledger/evm/localEngines.js'
import { signRequest } from '../../src/ledger/requests.js'
import { SqliteLedger } from '../../src/ledger/sqliteLedger.js'
import { Harness, ident } from '../round/harness.js'
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

/** A ledger file with a gateway and five nodes registered, and no money yet (custody brings it). */
async function registeredLedger() {
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
  return { dir, file, opKey, operator, nodes, gateway, at: ['--file', file, '--operator-key', opKey] }
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
    const { dir, file, opKey, operator, nodes, gateway, at } = await registeredLedger()
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

    // chain.json names the sequencer's key: anchor needs no --evm-key.
    const anchor = () => run('anchor', ...at)
    // The deposits move the ledger: batch 0 is proposed, and waits for a verifier.
    expect((await anchor()).out).toMatch(/credited 6 deposit.*batch 0 \(0 rounds\) proposed in .*batch-proposal\.json: 0 of 1 signatures/)
    const l = SqliteLedger.open({ path: file, operator })
    expect(l.account(gateway.id)!.balance).toBe(60_000_000n)
    l.submit(signRequest(gateway, 1, { op: 'stake', amount: '50000000' }))
    for (const n of nodes) l.submit(signRequest(n, 1, { op: 'stake', amount: '2000000' }))
    for (let r = 0; r < 2; r++) l.settle(playRound(l, 5, { coordSeq: r + 1 }))
    l.close()
    // The proposal out keeps its header while the ledger moves on.
    expect((await anchor()).out).toMatch(/batch 0 \(0 rounds\) proposed/)
    expect((await run('verify-batch', '--evm-key', keys['verifier-0']!, ...at)).out).toMatch(/^SIGNED batch 0/)
    expect((await anchor()).out).toMatch(/posted batch 0: 0 rounds/)
    // Then the rounds: proposed, checked against the verifier's own replay, signed, posted.
    expect((await anchor()).out).toMatch(/batch 1 \(2 rounds\) proposed/)
    expect((await run('verify-batch', '--evm-key', keys['verifier-0']!, ...at)).out).toMatch(/^SIGNED batch 1/)
    const proposal = JSON.parse(await readFile(join(dir, 'batch-proposal.json'), 'utf8')) as { header: { rounds: number } }
    expect(proposal.header.rounds).toBe(2)
    expect((await anchor()).out).toMatch(/posted batch 1: 2 rounds/)
    expect((await anchor()).out).toMatch(/nothing to anchor/)
    // Its published body holds: disputing it would lose the bond, so nothing is sent.
    expect(await run('dispute', '1', '--evm-key', keys.payer!, ...at)).toMatchObject({ code: 1, out: expect.stringMatching(/no fault the chain can decide/) })
    expect((await run('params', ...at)).out).toMatch(/ticketPrice +0/)
    // Nothing is final within the 60 s window, so there is nothing to pay out yet.
    expect(await run('claim', nodes[0]!.id, '--evm-key', keys.payer!, ...at)).toMatchObject({ code: 1, out: expect.stringMatching(/no final batch/) })
  })
  it('serves as the sequencer: ledger serve --anchor proposes, a verifier elsewhere signs over HTTP, the batch is posted', async () => {
    const { dir, opKey, nodes, gateway, at } = await registeredLedger()
    const keys = Object.fromEntries(['sequencer', 'verifier', 'payer'].map((k) => [k, join(dir, `${k}.evm.json`)]))
    for (const path of Object.values(keys)) {
      const address = (await run('evm-key', path)).out.trim()
      await engine.publicClient.request({ method: 'hardhat_setBalance' as never, params: [address, toHex(parseEther('100'))] as never })
    }
    await run('deploy', '--rpc', engine.rpcUrl!, '--evm-key', keys.sequencer!, '--threshold', '1', ...at)
    await run('verifier', '--evm-key', keys.verifier!, '--key', opKey, ...at)
    for (const account of [gateway, ...nodes]) await run('deposit', account.id, account === gateway ? '60' : '2', '--evm-key', keys.payer!, ...at)

    const stop = new AbortController()
    let served = ''
    const serving = ledgerCommand(['serve', '--port', '0', '--anchor', '--anchor-every', '1', '--evm-key', keys.sequencer!, ...at], stop.signal, (t) => (served += t))
    try {
      const until = async (what: RegExp, ms = 15_000) => {
        const end = Date.now() + ms
        while (!what.test(served)) {
          if (Date.now() > end) throw new Error(`waited for ${what}; the server said: ${served}`)
          await new Promise((r) => setTimeout(r, 100))
        }
      }
      await until(/url {2}(http:\/\/\S+)/)
      const url = /url {2}(http:\/\/\S+)/.exec(served)![1]!
      await until(/credited 6 deposit.*batch 0 .*proposed/)
      const client = new HttpLedgerClient(url)
      for (const n of [gateway, ...nodes]) await client.submit(signRequest(n, 1, { op: 'stake', amount: n === gateway ? '50000000' : '2000000' }))
      const h = new Harness({ nodes: 5, ledger: standingOf(await client.latest()), request: { coordSeq: 1, fee: '1000000', ticket: '10000' } })
      h.runDeadlines()
      await client.settle(h.outcome!.transcript)
      // A verifier that holds no copy of the file: the log and the proposal come from the server.
      expect((await run('verify-batch', '--ledger', url, '--evm-key', keys.verifier!, ...at)).out).toMatch(/^SIGNED batch 0/)
      await until(/posted batch 0: 0 rounds/)
      await until(/batch 1 \(1 rounds\) proposed/)
      // A stranger's signature over the very header is refused: it would make the posting fail.
      const proposal = (await client.batchProposal())!
      const config = JSON.parse(await readFile(join(dir, 'chain.json'), 'utf8')) as { chainId: number; rollup: Hex }
      const stranger = privateKeyToAccount(generatePrivateKey())
      const domain = { name: 'Chorus', version: '1', chainId: config.chainId, verifyingContract: config.rollup }
      await expect(client.signBatchProposal({ index: String(proposal.header.index), signer: stranger.address, signature: await signBatch(stranger, domain, proposal.header) })).rejects.toMatchObject({ code: 'BAD_SIGNATURE' })
      expect((await run('verify-batch', '--ledger', url, '--evm-key', keys.verifier!, ...at)).out).toMatch(/^SIGNED batch 1/)
      await until(/posted batch 1: 1 rounds/)
      // Anyone can check a posted batch against the body the server published.
      expect(await run('dispute', '1', '--ledger', url, '--evm-key', keys.payer!, ...at)).toMatchObject({ code: 1, out: expect.stringMatching(/no fault the chain can decide/) })
      expect(await run('dispute', '0', '--ledger', url, '--evm-key', keys.payer!, ...at)).toMatchObject({ code: 1, out: expect.stringMatching(/no fault/) })
      // A signature over another header, or by a key that did not make it, is refused.
      await expect(client.signBatchProposal({ index: '2', signer: '0x0000000000000000000000000000000000000001', signature: `0x${'11'.repeat(65)}` })).rejects.toMatchObject({ code: expect.stringMatching(/NOT_YET|BAD_SIGNATURE/) })
    } finally {
      stop.abort()
      await serving
    }
  }, 60_000)
})
