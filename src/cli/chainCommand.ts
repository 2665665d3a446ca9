import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { type Address, type Hex, type LocalAccount, parseEther } from 'viem'
import { signBytes } from '../crypto/identity.js'
import { formatUnits, parseUnits } from '../ledger/amount.js'
import { genesisBase } from '../ledger/evm/batch.js'
import { Governance, PARAMETERS, type ParameterName } from '../ledger/evm/governance.js'
import { Rollup } from '../ledger/evm/rollup.js'
import { type AnchorTurn, Sequencer } from '../ledger/evm/sequencer.js'
import { type BatchDomain, type Proposal, proposalFile, withSignature } from '../ledger/evm/proposal.js'
import { HttpLedgerClient } from '../ledger/httpLedgerClient.js'
import { bodyMismatch, disputeFault, findFault } from '../ledger/evm/faults.js'
import { BatchMismatch, BatchReplica, signBatch } from '../ledger/evm/verifyBatch.js'
import { finalLeaf } from '../ledger/evm/withdrawal.js'
import { SqliteLedger } from '../ledger/sqliteLedger.js'
import { type ChainConfig, connect, contracts, readChainConfig, writeChainConfig } from './chainConfig.js'
import { readEvmKey, writeEvmKey } from './evmKeyFile.js'
import { readKeyFile } from './keyFile.js'
import { ConfigError } from './modelSpec.js'
import { number } from './settings.js'
import { WORKSPACE_LEDGER, WORKSPACE_OPERATOR_KEY } from './workspaceLedger.js'

/**
 * `chorus ledger deploy|deposit|verifier|anchor|verify-batch|dispute|params|propose|vote|execute`:
 * the ledger file as the sequencer of a rollup on an EVM chain (ledger/evm). `deploy` records the
 * chain beside the ledger file (chain.json); every other command reads it from there.
 */
export const CHAIN_COMMANDS = ['evm-key', 'deploy', 'deposit', 'verifier', 'anchor', 'verify-batch', 'dispute', 'claim', 'params', 'gov-stake', 'propose', 'vote', 'execute'] as const

export const CHAIN_HELP = `
 On an EVM chain (the ledger file sequences a rollup; the chain holds the money):
  evm-key <file>                make an EVM key file (0600; never overwrites)
  deploy --rpc URL --evm-key F  deploy the rollup (this key sequences) and governance, and record
                                them in chain.json beside the ledger file; [--threshold K]
                                [--challenge-window S] [--verifier-bond E] [--dispute-bond E]
                                [--voting-period S] [--timelock S] [--quorum-bp B]; a ledger
                                already holding faucet money only with --unbacked-genesis
  deposit <account> <amount> --evm-key F   pay money in for a Chorus account
  verifier --evm-key F --key NODEKEY [--bond E]   bind a verifier's EVM key to a node, bonded
  anchor [--evm-key SEQUENCER] [--verifier-key F]… [--transcripts URL]
                                credit the chain's new deposits, finalize batches whose window
                                is over, propose the next batch (batch-proposal.json) and post it
                                once enough verifiers signed (keys here, or verify-batch)
  verify-batch --evm-key F      replay the log, rebuild the proposed batch, sign it if equal
  dispute <index> --evm-key F   check a standing batch against its published body (here, or
        [--ledger URL]          --ledger URL) and prove its first fault: money made or lost,
                                net changes its rounds do not add up to, a round twice, a beacon
                                off the chain (a bond at stake; nothing provable, nothing sent);
                                a body never published: --vote puts it to the non-signers' vote
  claim <account> --evm-key F   carry an account's proof against the final state root: the chain
                                pays what it released (chorus ledger release) and was not paid
  params                        the parameters in force on the chain
  gov-stake <E> --evm-key F     stake for governance votes
  propose <name> <value> --evm-key F;  vote <id> yes|no --evm-key F;  execute <id> --evm-key F
                                (E: an amount of the chain's currency. Parameters:
                                ${PARAMETERS.join(', ')})
`

const OPTIONS = {
  file: { type: 'string' },
  ledger: { type: 'string' },
  'operator-key': { type: 'string' },
  rpc: { type: 'string' },
  'evm-key': { type: 'string' },
  key: { type: 'string' },
  'verifier-key': { type: 'string', multiple: true },
  threshold: { type: 'string' },
  'challenge-window': { type: 'string' },
  'verifier-bond': { type: 'string' },
  'dispute-bond': { type: 'string' },
  'voting-period': { type: 'string' },
  timelock: { type: 'string' },
  'quorum-bp': { type: 'string' },
  bond: { type: 'string' },
  transcripts: { type: 'string' },
  'unbacked-genesis': { type: 'boolean', default: false },
  vote: { type: 'boolean', default: false },
} as const

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values']

const ether = (s: string | undefined, what: string, fallback: string) => {
  try {
    return parseEther(s ?? fallback)
  } catch {
    throw new ConfigError(`${what} is an amount of the chain's currency, e.g. 0.5`)
  }
}

export async function chainCommand(sub: string, args: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true })
  const file = values.file ?? WORKSPACE_LEDGER
  const configPath = join(dirname(file), 'chain.json')
  const proposalPath = join(dirname(file), 'batch-proposal.json')
  const key = async () => {
    if (values['evm-key'] === undefined) throw new ConfigError(`${sub} needs --evm-key <file>`)
    return readEvmKey(values['evm-key'])
  }
  switch (sub) {
    case 'evm-key': {
      if (positionals[0] === undefined) throw new ConfigError('evm-key needs a file to write')
      out(`${(await writeEvmKey(positionals[0])).address}\n`)
      return 0
    }
    case 'deploy':
      return deploy(values, file, configPath, await key(), out)
    case 'deposit': {
      const [account, units] = positionals
      if (account === undefined || !/^[0-9a-f]{64}$/.test(account)) throw new ConfigError('deposit needs a Chorus account id (64 hex) and an amount')
      const { rollup } = await contracts(await readChainConfig(configPath), await key())
      const micro = parseUnits(units ?? '')
      await rollup.deposit(account, micro)
      out(`deposited ${formatUnits(micro)} to ${account.slice(0, 16)}…; the sequencer credits it at its next anchor\n`)
      return 0
    }
    case 'verifier': {
      if (values.key === undefined) throw new ConfigError('verifier needs --key <node key file> (the node the EVM key is bound to)')
      const { identity } = await readKeyFile(values.key)
      const account = await key()
      const { rollup } = await contracts(await readChainConfig(configPath), account)
      const binding: Hex = `0x${signBytes(identity, Buffer.from(`chorus/evm-verifier\n${account.address}`))}`
      await rollup.registerVerifier(identity.id, binding, ether(values.bond, '--bond', '1'))
      out(`verifier ${account.address} bound to node ${identity.id.slice(0, 16)}…\n`)
      return 0
    }
    case 'anchor':
      return anchor(values, file, configPath, proposalPath, out)
    case 'verify-batch':
      return verifyBatch(values, file, configPath, proposalPath, await key(), out)
    case 'dispute':
      return dispute(values, positionals, configPath, proposalPath, await key(), out)
    case 'claim': {
      const account = positionals[0]
      if (account === undefined || !/^[0-9a-f]{64}$/.test(account)) throw new ConfigError('claim needs a Chorus account id (64 hex)')
      const config = await readChainConfig(configPath)
      const { rollup } = await contracts(config, await key())
      const ledger = SqliteLedger.readOnly(file)
      try {
        const claim = await finalLeaf(rollup, (from, limit) => ledger.entries(from, limit), config.genesisSeq, account)
        const paid = await rollup.withdrawn(account)
        if (claim === undefined || claim.leaf.withdrawable <= paid) {
          out(`nothing to pay ${account.slice(0, 16)}… yet: ${claim === undefined ? 'no final batch holds the account' : `the final state releases ${formatUnits(claim.leaf.withdrawable)}, all paid`}\n`)
          return 1
        }
        await rollup.withdraw(claim.leaf, claim.proof)
        out(`paid ${formatUnits(claim.leaf.withdrawable - paid)} to ${claim.leaf.payout}\n`)
        return 0
      } finally {
        ledger.close()
      }
    }
    case 'params': {
      const { governance } = await contracts(await readChainConfig(configPath))
      for (const [name, value] of Object.entries(await governance.parameters())) out(`${name.padEnd(20)} ${value}\n`)
      return 0
    }
    case 'gov-stake': {
      const { governance } = await contracts(await readChainConfig(configPath), await key())
      await governance.stake(ether(positionals[0], 'gov-stake', '0'))
      out('staked for governance\n')
      return 0
    }
    case 'propose': {
      const name = positionals[0] as ParameterName
      if (!PARAMETERS.includes(name)) throw new ConfigError(`propose a known parameter: ${PARAMETERS.join(', ')}`)
      if (positionals[1] === undefined || !/^\d+$/.test(positionals[1])) throw new ConfigError('propose needs a whole-number value')
      const { governance } = await contracts(await readChainConfig(configPath), await key())
      out(`proposal ${await governance.propose(name, BigInt(positionals[1]))}: ${name} = ${positionals[1]}\n`)
      return 0
    }
    case 'vote': {
      if (positionals[1] !== 'yes' && positionals[1] !== 'no') throw new ConfigError('vote <id> yes|no')
      const { governance } = await contracts(await readChainConfig(configPath), await key())
      await governance.vote(BigInt(number(positionals[0], 'the proposal id', (n) => Number.isInteger(n) && n >= 0)), positionals[1] === 'yes')
      out('voted\n')
      return 0
    }
    case 'execute':
      return execute(positionals, configPath, await key(), out)
    default:
      throw new ConfigError(`unknown ledger command '${sub}'`)
  }
}

async function deploy(values: Values, file: string, configPath: string, account: LocalAccount, out: (s: string) => void): Promise<number> {
  if (values.rpc === undefined) throw new ConfigError('deploy needs --rpc <url> (an EVM node: anvil, a testnet, Monad…)')
  if (!existsSync(file)) throw new ConfigError(`no ledger file at ${file}`)
  if (existsSync(configPath)) throw new ConfigError(`${configPath} exists: this ledger is deployed already`)
  const { chainId, publicClient, wallet } = await connect(values.rpc)
  const ledger = SqliteLedger.readOnly(file)
  let base
  let unbacked: bigint
  try {
    base = genesisBase(ledger)
    const { held, released } = ledger.supply()
    unbacked = held + released
  } finally {
    ledger.close()
  }
  // Money already in the ledger came from its faucet: the chain holds none of it, so the first
  // withdrawals of it would drain other accounts' deposits.
  if (unbacked > 0n && !values['unbacked-genesis']) throw new ConfigError(`the ledger already holds ${formatUnits(unbacked)} units its faucet created, which no deposit on the chain backs; deploy a ledger that holds no money yet, or pass --unbacked-genesis (a test network)`)
  const w = wallet(account)
  const rollup = await Rollup.deploy(
    {
      sequencer: account.address,
      threshold: number(values.threshold ?? 2, '--threshold', (n) => Number.isInteger(n) && n >= 1),
      minVerifierBond: ether(values['verifier-bond'], '--verifier-bond', '1'),
      challengeWindowS: number(values['challenge-window'] ?? 3_600, '--challenge-window', (n) => Number.isInteger(n) && n >= 0),
      disputeBond: ether(values['dispute-bond'], '--dispute-bond', '0.1'),
      genesisStateRoot: base.stateRoot,
      genesisBeacon: base.beacon,
    },
    publicClient,
    w,
  )
  const governance = await Governance.deploy(
    {
      votingPeriodS: number(values['voting-period'] ?? 86_400, '--voting-period', (n) => Number.isInteger(n) && n >= 1),
      timelockS: number(values.timelock ?? 172_800, '--timelock', (n) => Number.isInteger(n) && n >= 0),
      quorumBp: number(values['quorum-bp'] ?? 4_000, '--quorum-bp', (n) => Number.isInteger(n) && n >= 0 && n <= 10_000),
      initial: {},
    },
    publicClient,
    w,
  )
  const config: ChainConfig = { rpc: values.rpc, chainId, rollup: rollup.address, governance: governance.address, genesisSeq: base.seq, sequencerKey: resolve(values['evm-key']!) }
  await writeChainConfig(configPath, config)
  out(`rollup ${rollup.address}\ngovernance ${governance.address}\nchain ${chainId} at ${values.rpc}; genesis at entry ${base.seq}; recorded in ${configPath}\n`)
  return 0
}

async function anchor(values: Values, file: string, configPath: string, proposalPath: string, out: (s: string) => void): Promise<number> {
  const config = await readChainConfig(configPath)
  const sequencerKey = values['evm-key'] ?? config.sequencerKey
  if (sequencerKey === undefined) throw new ConfigError("anchor needs --evm-key <the sequencer's key> (the only one the rollup takes batches from)")
  const ledger = SqliteLedger.open({ path: file, operator: (await readKeyFile(values['operator-key'] ?? WORKSPACE_OPERATOR_KEY)).identity })
  const { rollup, governance } = await contracts(config, await readEvmKey(sequencerKey))
  const sequencer = new Sequencer(ledger, rollup, config.genesisSeq, governance)
  try {
    const verifiers = await Promise.all((values['verifier-key'] ?? []).map((f) => readEvmKey(f)))
    out(`${anchorLine(await sequencer.anchor(verifiers, values.transcripts ?? 'chorus-ledger-log', proposalFile(proposalPath)), proposalPath)}\n`)
    return 0
  } finally {
    sequencer.close()
    ledger.close()
  }
}

/** What one anchoring turn did, in a line. */
export function anchorLine(t: AnchorTurn, proposals: string): string {
  const head = `credited ${t.credited} deposit(s); finalized ${t.finalized} batch(es)`
  if (t.posted !== undefined) return `${head}; posted batch ${t.posted.header.index}: ${t.posted.header.rounds} rounds, state root ${t.posted.header.stateRoot}`
  if (t.proposed !== undefined) return `${head}; batch ${t.proposed.batch.header.index} (${t.proposed.batch.header.rounds} rounds) proposed in ${proposals}: ${t.proposed.signatures} of ${t.proposed.threshold} signatures (verifiers: chorus ledger verify-batch)`
  return `${head}; nothing to anchor: the ledger has not moved since the last batch`
}

/**
 * A verifier's turn: the proposal and the log from a served ledger (`--ledger URL`) or from the
 * ledger file and the proposal beside it; rebuilt on its own replay, signed only if equal.
 */
async function verifyBatch(values: Values, file: string, configPath: string, proposalPath: string, account: LocalAccount, out: (s: string) => void): Promise<number> {
  const remote = values.ledger === undefined ? undefined : new HttpLedgerClient(values.ledger)
  const config = await readChainConfig(configPath)
  const proposal = remote === undefined ? await proposalFile(proposalPath).read() : await remote.batchProposal()
  if (proposal === undefined) throw new ConfigError(remote === undefined ? `no proposed batch at ${proposalPath} (chorus ledger anchor writes one)` : `${values.ledger} has no batch proposed (its ledger serve anchors with --anchor)`)
  const { rollup } = await contracts(config)
  const ledger = remote === undefined ? SqliteLedger.readOnly(file) : undefined
  const entries = (from: number, limit: number) => (remote === undefined ? ledger!.entries(from, limit) : remote.entries(from, limit))
  const replica = new BatchReplica(entries, config.genesisSeq)
  try {
    for (const { header } of await rollup.postedBatches()) await replica.verify(header)
    await replica.verify(proposal.header)
  } catch (err) {
    if (!(err instanceof BatchMismatch)) throw err
    out(`REFUSED batch ${proposal.header.index}: ${err.message}\n`)
    return 1
  } finally {
    replica.close()
    ledger?.close()
  }
  const signature = { index: String(proposal.header.index), signer: account.address, signature: await signBatch(account, rollup.domain, proposal.header) }
  const count = remote === undefined ? await signLocally(proposalPath, proposal, signature, rollup.domain) : (await remote.signBatchProposal(signature)).signatures
  out(`SIGNED batch ${proposal.header.index} as ${account.address} (${count} signature(s) now)\n`)
  return 0
}

async function signLocally(path: string, proposal: Proposal, signature: { index: string; signer: string; signature: Hex }, domain: BatchDomain): Promise<number> {
  const signed = await withSignature(proposal, signature, domain)
  await proposalFile(path).write(signed)
  return signed.signatures.length
}

/**
 * Checks a standing batch against the body its sequencer published (from the ledger file's
 * folder, or `--ledger URL`) and sends the dispute that proves its first fault, if the chain can
 * decide one; otherwise says what it found (nothing to prove costs no bond).
 */
async function dispute(values: Values, positionals: string[], configPath: string, proposalPath: string, account: LocalAccount, out: (s: string) => void): Promise<number> {
  const index = BigInt(number(positionals[0], 'the batch index', (n) => Number.isInteger(n) && n >= 0))
  const config = await readChainConfig(configPath)
  const { rollup } = await contracts(config, account)
  const standing = await rollup.postedBatches()
  const target = standing.find((b) => b.header.index === index)
  if (target === undefined) throw new ConfigError(`batch ${index} does not stand on the chain`)
  const published = values.ledger === undefined ? await proposalFile(proposalPath).published(index) : await new HttpLedgerClient(values.ledger).publishedBatch(index)
  if (published === undefined) {
    if (!values.vote) {
      out(`batch ${index}: its body is not published here; without it no fault can be proven. --vote puts the batch to the vote of the verifiers that did not sign it (a bond at stake)\n`)
      return 1
    }
    const id = await rollup.disputeBatch(target.header, 'its body was not published')
    out(`batch ${index} put to the vote of the verifiers that did not sign it (dispute ${id}); it cannot become final while the vote runs\n`)
    return 0
  }
  const mismatch = bodyMismatch(target.header, published.body)
  if (mismatch !== undefined) {
    out(`batch ${index}: the published body is not the batch's (${mismatch}); nothing to prove with it\n`)
    return 1
  }
  const deposits = (await rollup.deposits(Number(target.header.depositsFrom))).filter((d) => d.index <= Number(target.header.depositsThrough))
  const previous = standing.find((b) => b.header.index === index - 1n)?.header
  const anchor = previous === undefined ? await rollup.genesisBeacon() : { chain: previous.beaconChain, index: previous.beaconIndex, value: previous.beaconTip }
  const fault = findFault(target.header, published.body, deposits, anchor)
  if (fault === undefined) {
    out(`batch ${index}: no fault the chain can decide (conservation, netting, a round twice, beacons all hold); a dispute would lose its bond\n`)
    return 1
  }
  await disputeFault(rollup, target.header, target.signers, published.body, fault, previous ?? 'genesis')
  const undone = (await rollup.state()).batchCount <= index
  out(undone ? `batch ${index} undone (${fault.kind}); its signers slashed\n` : `the dispute was lost: batch ${index} stands, the bond is forfeited\n`)
  return undone ? 0 : 1
}

async function execute(positionals: string[], configPath: string, account: LocalAccount, out: (s: string) => void): Promise<number> {
  const id = BigInt(number(positionals[0], 'the proposal id', (n) => Number.isInteger(n) && n >= 0))
  const { governance } = await contracts(await readChainConfig(configPath), account)
  // Queue it first if its vote is over and it passed (a no-op error when queued already).
  await governance.queue(id).catch((err: Error) => {
    if (!/already queued/.test(err.message)) throw err
  })
  await governance.execute(id)
  out(`proposal ${id} executed\n`)
  return 0
}


/**
 * `ledger serve --anchor`: the serving process is the sequencer (it alone writes the file). Every
 * `--anchor-every` seconds it credits deposits, finalizes, and proposes or posts the next batch;
 * the proposal is served to verifiers elsewhere, who sign it through the same server.
 */
export async function startAnchoring(values: { 'evm-key'?: string; 'verifier-key'?: string[]; 'anchor-every'?: string }, file: string, ledger: SqliteLedger, publicUrl: () => string, out: (s: string) => void) {
  const configPath = join(dirname(file), 'chain.json')
  const config = await readChainConfig(configPath)
  const sequencerKey = values['evm-key'] ?? config.sequencerKey
  if (sequencerKey === undefined) throw new ConfigError("--anchor needs --evm-key <the sequencer's key>")
  const { rollup, governance } = await contracts(config, await readEvmKey(sequencerKey))
  const verifiers = await Promise.all((values['verifier-key'] ?? []).map((f) => readEvmKey(f)))
  const everyMs = number(values['anchor-every'] ?? 10, '--anchor-every', (n) => n >= 1) * 1_000
  const proposalPath = join(dirname(file), 'batch-proposal.json')
  const store = proposalFile(proposalPath)
  const sequencer = new Sequencer(ledger, rollup, config.genesisSeq, governance)
  let stopped = false
  let turn: Promise<void> = Promise.resolve()
  let timer: NodeJS.Timeout | undefined
  const schedule = () => {
    if (stopped) return
    timer = setTimeout(() => {
      turn = sequencer
        .anchor(verifiers, `${publicUrl()}/v1/ledger/log`, store)
        .then((t) => {
          if (t.posted !== undefined || t.proposed !== undefined || t.credited > 0 || t.finalized > 0) out(`${anchorLine(t, proposalPath)}\n`)
        })
        .catch((err: Error) => out(`anchoring failed (next try in ${everyMs / 1000} s): ${err.message.split('\n')[0]}\n`))
        .finally(schedule)
    }, everyMs)
  }
  schedule()
  return {
    proposals: { store, domain: rollup.domain, isVerifier: async (address: string) => (await rollup.verifier(address as Address)).active },
    rollup: config.rollup,
    stop: async () => {
      stopped = true
      clearTimeout(timer)
      await turn
      sequencer.close()
    },
  }
}
