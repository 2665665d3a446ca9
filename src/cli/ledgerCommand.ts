import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { formatUnits, parseUnits } from '../ledger/amount.js'
import { signCreditOrder } from '../ledger/creditOrder.js'
import { type CalibrationItem, parseCalibrationItems } from '../ledger/calibrationPool.js'
import { calibrationRequired, workspaceRules } from './calibrationGate.js'
import { CHAIN_COMMANDS, CHAIN_HELP, chainCommand, startAnchoring } from './chainCommand.js'
import { HttpLedgerClient } from '../ledger/httpLedgerClient.js'
import type { AccountState } from '../ledger/ledger.js'
import { createLedgerServer } from '../ledger/ledgerServer.js'
import { LocalLedgerClient } from '../ledger/localClient.js'
import type { LedgerClient } from '../ledger/networkLedger.js'
import { type AccountOp, signRequest } from '../ledger/requests.js'
import { SqliteLedger } from '../ledger/sqliteLedger.js'
import { DEFAULT_SETTLEMENT_RULES } from '../ledger/settlement.js'
import { verifyLedger } from '../ledger/verifyLedger.js'
import { readKeyFile } from './keyFile.js'
import { ConfigError } from './modelSpec.js'
import { forfeitRule, number } from './settings.js'
import { WORKSPACE_LEDGER, WORKSPACE_OPERATOR_KEY } from './workspaceLedger.js'

/**
 * `chorus ledger …`: the ledger's operator and account holders at the command line. A command
 * works on a served ledger (`--ledger URL`) or on a ledger file (`--file`, default
 * `.chorus/ledger.sqlite`, the one `demo` and `up` use). Amounts are typed and shown in units with
 * up to six decimals (1 unit = 1 000 000 micro-units).
 */
export const LEDGER_HELP = `chorus ledger <command> [options]

  verify [file]                 replay a ledger file from its log and check every entry, signature,
                                settlement and balance (default ${WORKSPACE_LEDGER})
  show [account]                the ledger's head and supply, or one account (balance, stake,
                                reputation, keys)
  export [--from N]             the signed log as JSON lines, from entry N (default 1)
  register --kind <k> --key F   make the key's account: node, gateway, client or operator
           [--operator ID]      (a node names the operator account its rewards go to)
  stake <amount> --key F        move balance into stake (a node's bond, a gateway's deposit)
  unbond <amount> --key F       start taking stake back (withdrawable after the unbonding delay)
  withdraw --key F              move unbonded stake back to the balance, once the delay is over
  allow <gateway> <amount> --key F   let a gateway charge this (client) account up to amount
  release <amount> --to 0x… --key F  hand balance to the custody chain (on an EVM-anchored
                                ledger), paid to that address once a batch holding it is final
  rotate --key F --new-key G    hand the account to a new key (balance and reputation stay)
  credit <account> <amount>     the operator's faucet (the operator key: --operator-key, default
                                ${WORKSPACE_OPERATOR_KEY})
  retire-rules <version>        the operator's word that rounds by older rules no longer settle
                                (the file itself; they still verify)
  backup <dest>                 an online copy of the ledger file (SQLite's backup API)
  serve [--host H] [--port P]   serve the ledger file to a network's nodes and gateways
        [--calibration on|off]  a new ledger file: whether nodes must pass a calibration
                                challenge before they judge (default on)
        [--calibration-items F] the operator's own known-answer items (JSON lines of
                                {question, right, wrong}), mixed into the generated ones
        [--forfeit RULE]        a new ledger file: who forfeits a ticket besides no-shows and
                                answers the prefilter left out — unproven (default: members
                                without judge weight whose answer is not the winner's),
                                no-shows (nobody else), non-winners (everyone but the winner)
        [--anchor --evm-key F]  be the sequencer of the rollup in chain.json (chorus ledger
        [--anchor-every S]      deploy): every S s (10) credit deposits, finalize, and propose
        [--verifier-key F]…     or post the next batch; verifiers elsewhere fetch and sign the
                                proposal here (chorus ledger verify-batch --ledger URL)

${CHAIN_HELP}
  --ledger <url>     a served ledger (chorus ledger serve) instead of the file
  --file <path>      the ledger file (default ${WORKSPACE_LEDGER})
  --operator-key <f> the ledger operator's key file (default ${WORKSPACE_OPERATOR_KEY})
  --json             print JSON
`

const OPTIONS = {
  ledger: { type: 'string' },
  file: { type: 'string' },
  'operator-key': { type: 'string' },
  key: { type: 'string' },
  'new-key': { type: 'string' },
  to: { type: 'string' },
  kind: { type: 'string' },
  operator: { type: 'string' },
  from: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  calibration: { type: 'string' },
  'calibration-items': { type: 'string' },
  forfeit: { type: 'string' },
  anchor: { type: 'boolean', default: false },
  'anchor-every': { type: 'string' },
  'evm-key': { type: 'string' },
  'verifier-key': { type: 'string', multiple: true },
  json: { type: 'boolean', default: false },
} as const

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values']

export async function ledgerCommand(args: string[], signal: AbortSignal, out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const [sub, ...rest] = args
  if ((CHAIN_COMMANDS as readonly string[]).includes(sub ?? '')) return chainCommand(sub!, rest, out)
  const { values, positionals } = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true })
  const file = values.file ?? WORKSPACE_LEDGER
  switch (sub) {
    case 'verify':
      return verify(positionals[0] ?? file, out, values.json)
    case 'show':
      return withClient(values, false, async (c) => show(c, positionals[0], out, values.json))
    case 'export':
      return withClient(values, false, async (c) => {
        let from = number(values.from ?? 1, '--from', (n) => Number.isInteger(n) && n >= 1)
        for (;;) {
          // A served ledger may send fewer than asked (its pages are bounded in bytes): the end is an empty page.
          const batch = await c.entries(from, 500)
          if (batch.length === 0) return 0
          for (const e of batch) out(`${JSON.stringify(e)}\n`)
          from += batch.length
        }
      })
    case 'register': {
      const kind = values.kind
      if (kind !== 'node' && kind !== 'gateway' && kind !== 'client' && kind !== 'operator') throw new ConfigError('register needs --kind node|gateway|client|operator')
      return request(values, out, { op: 'register', kind, ...(values.operator ? { operator: values.operator } : {}) })
    }
    case 'stake':
    case 'unbond':
      return request(values, out, { op: sub, amount: amount(positionals[0]) })
    case 'withdraw':
      return request(values, out, { op: 'withdraw' })
    case 'release': {
      const to = values.to?.toLowerCase()
      if (to === undefined || !/^0x[0-9a-f]{40}$/.test(to)) throw new ConfigError('release needs --to <EVM address> (where the custody chain pays it)')
      return request(values, out, { op: 'release', amount: amount(positionals[0]), to })
    }
    case 'allow':
      if (positionals[0] === undefined) throw new ConfigError('allow needs the gateway id and an amount')
      return request(values, out, { op: 'allow', gateway: positionals[0], amount: amount(positionals[1]) })
    case 'rotate': {
      if (values['new-key'] === undefined) throw new ConfigError('rotate needs --new-key <file>')
      const next = await readKeyFile(values['new-key'])
      return request(values, out, { op: 'rotate', newKey: next.identity.id })
    }
    case 'credit':
      return credit(values, positionals, out)
    case 'retire-rules':
      return retireRules(values, positionals, out)
    case 'backup': {
      if (positionals[0] === undefined) throw new ConfigError('backup needs a destination file')
      if (existsSync(positionals[0])) throw new ConfigError(`${positionals[0]} exists; refusing to overwrite it`)
      const ledger = SqliteLedger.readOnly(mustExist(file))
      try {
        await ledger.backup(positionals[0])
      } finally {
        ledger.close()
      }
      out(`backed up ${file} to ${positionals[0]} (check it with: chorus ledger verify ${positionals[0]})\n`)
      return 0
    }
    case 'serve':
      return serve(values, file, signal, out)
    default:
      throw new ConfigError(sub === undefined ? 'ledger needs a command (chorus ledger --help)' : `unknown ledger command '${sub}' (chorus ledger --help)`)
  }
}

function amount(s: string | undefined): string {
  if (s === undefined) throw new ConfigError('give an amount in units, e.g. 2.5')
  try {
    return parseUnits(s).toString()
  } catch (err) {
    throw new ConfigError((err as Error).message)
  }
}

function mustExist(path: string): string {
  if (!existsSync(path)) throw new ConfigError(`no ledger file at ${path} (chorus demo or chorus up makes one; or give --file / --ledger)`)
  return path
}

async function verify(path: string, out: (s: string) => void, json: boolean): Promise<number> {
  mustExist(path)
  const tty = process.stderr.isTTY
  try {
    const v = await verifyLedger(path, (done) => {
      if (tty) process.stderr.write(`\r\x1b[Kreplayed ${done} entries…`)
    })
    if (tty) process.stderr.write('\r\x1b[K')
    out(json ? `${JSON.stringify({ valid: true, ...v })}\n` : `VALID ${path}: ${v.entries} entries, ${v.settlements} settlements, head ${v.head}\n  operator ${v.operator}\n`)
    return 0
  } catch (err) {
    if (tty) process.stderr.write('\r\x1b[K')
    out(json ? `${JSON.stringify({ valid: false, reason: (err as Error).message })}\n` : `INVALID ${path}: ${(err as Error).message}\n`)
    return 1
  }
}

/** A client for the ledger the options name; a file is opened for the call and closed after. */
async function withClient(values: Values, write: boolean, fn: (c: LedgerClient) => Promise<number>): Promise<number> {
  if (values.ledger !== undefined) return fn(new HttpLedgerClient(values.ledger))
  const path = mustExist(values.file ?? WORKSPACE_LEDGER)
  const ledger = write ? SqliteLedger.open({ path, operator: (await readKeyFile(values['operator-key'] ?? WORKSPACE_OPERATOR_KEY)).identity }) : SqliteLedger.readOnly(path)
  try {
    return await fn(new LocalLedgerClient(ledger))
  } finally {
    ledger.close()
  }
}

async function request(values: Values, out: (s: string) => void, body: AccountOp): Promise<number> {
  if (values.key === undefined) throw new ConfigError(`${body.op} needs --key <file> (the account's key)`)
  const { identity } = await readKeyFile(values.key)
  return withClient(values, true, async (c) => {
    const account = body.op === 'register' ? undefined : await c.accountOfKey(identity.id)
    if (body.op !== 'register' && account === undefined) throw new ConfigError(`no account acts for the key ${identity.id}; register it first`)
    const nonce = account === undefined ? 0 : (await c.account(account))!.nonce
    const e = await c.submit(signRequest(identity, nonce, body))
    out(`${body.op} applied as entry ${e.seq} (${e.hash.slice(0, 16)}…)${body.op === 'register' ? `\n  account ${identity.id}` : ''}\n`)
    return 0
  })
}

async function credit(values: Values, positionals: string[], out: (s: string) => void): Promise<number> {
  const [account, units] = positionals
  if (account === undefined || !/^[0-9a-f]{64}$/.test(account)) throw new ConfigError('credit needs an account id (64 hex) and an amount')
  const x = BigInt(amount(units))
  const { identity } = await readKeyFile(values['operator-key'] ?? WORKSPACE_OPERATOR_KEY)
  if (values.ledger !== undefined) {
    const e = await new HttpLedgerClient(values.ledger).credit(signCreditOrder(identity, account, x, Date.now()))
    out(`credited ${formatUnits(x)} to ${account.slice(0, 16)}… as entry ${e.seq}\n`)
    return 0
  }
  const ledger = SqliteLedger.open({ path: mustExist(values.file ?? WORKSPACE_LEDGER), operator: identity })
  try {
    const e = ledger.credit(account, x)
    out(`credited ${formatUnits(x)} to ${account.slice(0, 16)}… as entry ${e.seq}\n`)
    return 0
  } finally {
    ledger.close()
  }
}

async function retireRules(values: Values, positionals: string[], out: (s: string) => void): Promise<number> {
  const version = Number(positionals[0])
  if (!Number.isSafeInteger(version)) throw new ConfigError('retire-rules needs the oldest rules version to settle from now on, e.g. retire-rules 3')
  if (values.ledger !== undefined) throw new ConfigError('retire-rules writes the ledger file itself (--file), with the operator key; stop ledger serve first')
  const ledger = SqliteLedger.open({ path: mustExist(values.file ?? WORKSPACE_LEDGER), operator: (await readKeyFile(values['operator-key'] ?? WORKSPACE_OPERATOR_KEY)).identity })
  try {
    const e = ledger.retireRules(version)
    out(`rounds by rules older than ${version} no longer settle here (entry ${e.seq}); nodes on this ledger decline them from its next standing\n`)
    return 0
  } finally {
    ledger.close()
  }
}

async function show(c: LedgerClient, id: string | undefined, out: (s: string) => void, json: boolean): Promise<number> {
  if (id === undefined) {
    const s = await c.latest()
    const summary = { head: s.head, seq: s.seq, eligibleNodes: s.nodes.length, gateways: s.gateways.length }
    out(json ? `${JSON.stringify(summary)}\n` : `head ${s.head} (entry ${s.seq})\n  ${s.nodes.length} eligible nodes, ${s.gateways.length} gateways\n`)
    return 0
  }
  const account = (await c.account(id)) ?? (await c.accountOfKey(id).then((a) => (a === undefined ? undefined : c.account(a))))
  if (account === undefined) {
    out(`no account ${id}\n`)
    return 1
  }
  out(json ? `${JSON.stringify({ ...account, balance: account.balance.toString(), stake: account.stake.toString(), unbonding: account.unbonding.toString() })}\n` : describe(account))
  return 0
}

function describe(a: AccountState): string {
  const r = a.reputation
  return [
    `${a.kind} ${a.id}${a.operator !== a.id ? ` (operator ${a.operator.slice(0, 16)}…)` : ''}`,
    `  balance   ${formatUnits(a.balance)}`,
    `  stake     ${formatUnits(a.stake)}${a.unbonding > 0n ? `, unbonding ${formatUnits(a.unbonding)} from ${new Date(a.unbondAt).toISOString()}` : ''}`,
    `  answerer  ${(r.answerPpm / 1e4).toFixed(1)} % over ${r.answerRounds} ranked rounds`,
    `  judge     weight ${(r.weightMicro / 1e6).toFixed(3)} (${r.judgeAgreedHalves / 2} of ${r.judgeVerdicts} verdicts agreed)`,
    `  calibrated ${r.calibrated ? 'yes' : 'no'} (${r.calRight} of ${r.calTotal} known-answer judgements right${r.calRetryAt > 0 ? `; may try again from ${new Date(r.calRetryAt).toISOString()}` : ''})`,
    `  keys      ${a.keys.join(', ')}`,
    `  nonce     ${a.nonce}`,
    '',
  ].join('\n')
}

async function serve(values: Values, file: string, signal: AbortSignal, out: (s: string) => void): Promise<number> {
  const { identity } = await readKeyFile(values['operator-key'] ?? WORKSPACE_OPERATOR_KEY)
  const itemsFile = values['calibration-items']
  let calibrationItems: CalibrationItem[] = []
  if (itemsFile !== undefined) {
    try {
      calibrationItems = parseCalibrationItems(await readFile(itemsFile, 'utf8'))
    } catch (err) {
      throw new ConfigError(`cannot read calibration items from ${itemsFile}: ${(err as Error).message}`)
    }
  }
  const forfeit = forfeitRule(values.forfeit)
  const ledger = SqliteLedger.open({ path: file, operator: identity, rules: { ...workspaceRules(calibrationRequired(values.calibration, false)), settlement: { ...DEFAULT_SETTLEMENT_RULES, forfeit } }, calibrationItems })
  let address = ''
  const anchoring = values.anchor ? await startAnchoring(values, file, ledger, () => address, out).catch((err: unknown) => {
    ledger.close()
    throw err
  }) : undefined
  const app = createLedgerServer({ ledger, ...(anchoring ? { proposals: anchoring.proposals } : {}) })
  const host = values.host ?? '127.0.0.1'
  const port = number(values.port ?? 8090, '--port', (n) => Number.isInteger(n) && n >= 0 && n <= 65535)
  try {
    address = await app.listen({ host, port })
  } catch (err) {
    await anchoring?.stop()
    ledger.close()
    throw new ConfigError(`cannot listen on ${host}:${port}: ${(err as Error).message}`)
  }
  const gate = ledger.rules().calibration
  out(`ledger ${file} (operator ${identity.id})\n  url  ${address}\n  calibration ${gate === undefined ? 'none (a ledger from before it: judges weigh by agreement)' : gate.required ? `required (${gate.pass} of ${gate.judgements} known-answer pairs${calibrationItems.length > 0 ? `; ${calibrationItems.length} of the operator's items mixed in` : ''})` : 'off (every staked node judges)'}\n`)
  const kept = ledger.rules().settlement.forfeit
  out(`  forfeit rule ${kept}${values.forfeit !== undefined && kept !== forfeit ? ` (the file was created with it and keeps it)` : ''}\n`)
  if (anchoring) out(`  anchors on the rollup ${anchoring.rollup} (proposals at ${address}/v1/ledger/batches/proposal)\n`)
  if (!signal.aborted) await once(signal, 'abort')
  await anchoring?.stop()
  await app.close()
  ledger.close()
  return 0
}
