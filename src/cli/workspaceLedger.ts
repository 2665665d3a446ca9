import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { hashParts } from '../crypto/hash.js'
import { type Identity, identityFromSeed } from '../crypto/identity.js'
import { type Micro, MICRO_PER_UNIT } from '../ledger/amount.js'
import { Paymaster, type Pricing, type RoundTerms } from '../gateway/paymaster.js'
import type { Ledger, LedgerRules } from '../ledger/ledger.js'
import { LocalLedgerClient } from '../ledger/localClient.js'
import { CachedLedger } from '../ledger/networkLedger.js'
import { type AccountOp, signRequest } from '../ledger/requests.js'
import { SqliteLedger } from '../ledger/sqliteLedger.js'
import { readKeyFile, writeKeyFile } from './keyFile.js'
import { ConfigError } from './modelSpec.js'

/**
 * The ledger of a working directory: `.chorus/ledger.sqlite`, operated by the key in
 * `.chorus/operator.key` (both made on first use; the folder ignores itself for git). `demo` and
 * `up` run on it, so reputation and balances carry over from one run to the next, and
 * `chorus ledger verify` with no argument replays it.
 */
export const WORKSPACE_DIR = '.chorus'
export const WORKSPACE_LEDGER = join(WORKSPACE_DIR, 'ledger.sqlite')
export const WORKSPACE_OPERATOR_KEY = join(WORKSPACE_DIR, 'operator.key')

export interface Workspace {
  ledger: SqliteLedger
  operator: Identity
  /** The operator key's seed: the in-process swarm's node and gateway keys derive from it. */
  seed: Buffer
  path: string
}

/** The working directory's `.chorus` folder, made (private, ignoring itself for git) if needed. */
export async function workspaceFolder(dir = process.cwd()): Promise<string> {
  const folder = join(dir, WORKSPACE_DIR)
  await mkdir(folder, { recursive: true, mode: 0o700 })
  // Written once: an operator's own edit of it stands.
  await writeFile(join(folder, '.gitignore'), '*\n', { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err
  })
  return folder
}

/** `rules`: the genesis rules of a ledger this creates (an existing one keeps its own). */
export async function openWorkspace(dir = process.cwd(), rules?: Partial<LedgerRules>): Promise<Workspace> {
  await workspaceFolder(dir)
  const keyPath = join(dir, WORKSPACE_OPERATOR_KEY)
  await writeKeyFile(keyPath).catch((err: Error) => {
    if (!/exists/.test(err.message)) throw err
  })
  const { identity, seed } = await readKeyFile(keyPath)
  const path = join(dir, WORKSPACE_LEDGER)
  try {
    return { ledger: SqliteLedger.open({ path, operator: identity, ...(rules ? { rules } : {}) }), operator: identity, seed, path }
  } catch (err) {
    throw new ConfigError(`cannot open the ledger ${path}: ${(err as Error).message}`)
  }
}

/** The key seeds of a workspace's swarm (in-process or devnet): the same every run, so their records persist. */
export function workspaceSeed(seed: Buffer, role: 'gateway' | 'node', index = 0): Buffer {
  return Buffer.from(hashParts('chorus/workspace', seed.toString('hex'), role, String(index)), 'hex')
}

export function workspaceIdentity(seed: Buffer, role: 'gateway' | 'node', index = 0): Identity {
  return identityFromSeed(workspaceSeed(seed, role, index))
}

const units = (n: bigint) => n * MICRO_PER_UNIT

/**
 * What the operator's faucet gives an in-process swarm, and when it tops the gateway up. A node is
 * staked a cushion above the minimum: a node that has not passed calibration forfeits its ticket
 * whenever its answer loses, and staked to the minimum one loss would leave it ineligible until
 * the next start (a unit is 400 tickets at the default terms).
 */
export const WORKSPACE_FUNDS = { operator: units(1_000n), nodeCushion: units(1n), gatewayDeposit: units(100n), gatewayLow: units(10n) }

/**
 * Registers, funds and stakes the in-process swarm where it is not yet: an operator account owning
 * the nodes (their rewards go there), each node staked to the minimum and a cushion, and the gateway with a
 * deposit (topped up when it runs low). Every step is an ordinary signed request or faucet credit
 * in the log, so `ledger verify` replays it like any other.
 */
export function enrolSwarm(ledger: Ledger, operator: Identity, gateway: Identity, nodes: readonly Identity[]): void {
  const request = (who: Identity, body: AccountOp) => {
    const nonce = ledger.account(ledger.accountOfKey(who.id) ?? who.id)?.nonce ?? 0
    ledger.submit(signRequest(who, nonce, body))
  }
  const ensure = (who: Identity, body: Extract<AccountOp, { op: 'register' }>, funds: Micro) => {
    if (ledger.accountOfKey(who.id) !== undefined) return
    request(who, body)
    if (funds > 0n) ledger.credit(who.id, funds)
  }
  ensure(operator, { op: 'register', kind: 'operator' }, WORKSPACE_FUNDS.operator)
  const minStake = ledger.rules().minStake
  for (const node of nodes) {
    ensure(node, { op: 'register', kind: 'node', operator: operator.id }, 0n)
    const a = ledger.account(ledger.accountOfKey(node.id)!)!
    if (a.stake < minStake) {
      const topUp = minStake + WORKSPACE_FUNDS.nodeCushion - a.stake
      ledger.credit(a.id, topUp)
      request(node, { op: 'stake', amount: topUp.toString() })
    }
  }
  ensure(gateway, { op: 'register', kind: 'gateway', operator: operator.id }, 0n)
  const g = ledger.account(ledger.accountOfKey(gateway.id)!)!
  if (g.stake < WORKSPACE_FUNDS.gatewayLow) {
    ledger.credit(g.id, WORKSPACE_FUNDS.gatewayDeposit)
    request(gateway, { op: 'stake', amount: WORKSPACE_FUNDS.gatewayDeposit.toString() })
  }
}

export interface SwarmLedger {
  workspace: Workspace
  network: CachedLedger
  client: LocalLedgerClient
  paymaster: Paymaster
  identities: { coordinator: Identity; node: (i: number) => Identity }
  close(): void
}

/**
 * An in-process swarm's ledger, ready: the workspace opened, its gateway and `nodes` nodes
 * enrolled, and what the swarm's runtimes read (the cached standing) and settle through.
 */
export async function swarmLedger(dir: string, nodes: number, opts: { terms?: RoundTerms; pricing?: Pricing; onError?: (err: unknown) => void; rules?: Partial<LedgerRules> } = {}): Promise<SwarmLedger> {
  const { rules, ...paying } = opts
  const workspace = await openWorkspace(dir, rules)
  try {
    const gateway = workspaceIdentity(workspace.seed, 'gateway')
    const node = (i: number) => workspaceIdentity(workspace.seed, 'node', i)
    enrolSwarm(workspace.ledger, workspace.operator, gateway, Array.from({ length: nodes }, (_, i) => node(i)))
    const client = new LocalLedgerClient(workspace.ledger)
    const network = await CachedLedger.connect(client)
    const paymaster = new Paymaster({ identity: gateway, ledger: network, client, ...paying })
    return { workspace, network, client, paymaster, identities: { coordinator: gateway, node }, close: () => workspace.ledger.close() }
  } catch (err) {
    workspace.ledger.close()
    throw err
  }
}
