import { type Address, encodeAbiParameters, type Hex, keccak256, stringToHex } from 'viem'
import type { RoundEntry } from '../chainDeposits.js'
import type { SqliteLedger } from '../sqliteLedger.js'
import { leafHash, MerkleTree } from './merkle.js'

/**
 * A batch as the sequencer posts it and each verifier rebuilds it from the log (verifyBatch.ts):
 * the leaves of every account after it, the accounts' net changes over it, and one leaf per round
 * it settled; the header holds their roots (contracts/ChorusBatches.sol). Amounts are micro-units.
 */
export interface BatchHeader {
  index: bigint
  /** The log entry the batch ends on, and its hash. */
  logSeq: bigint
  logHead: Hex
  prevStateRoot: Hex
  stateRoot: Hex
  roundsRoot: Hex
  deltasRoot: Hex
  depositsFrom: bigint
  depositsThrough: bigint
  /** Micro-units destroyed over the batch (forfeited fees of expired rounds). */
  burned: bigint
  rounds: number
  /** The newest beacon issued by logSeq. */
  beaconChain: number
  beaconIndex: bigint
  beaconTip: Hex
  transcripts: string
}

/** The EIP-712 type every verifier signs a batch header as (contracts/ChorusBatches.sol). */
export const BATCH_TYPES = {
  Batch: [
    { name: 'index', type: 'uint64' },
    { name: 'logSeq', type: 'uint64' },
    { name: 'logHead', type: 'bytes32' },
    { name: 'prevStateRoot', type: 'bytes32' },
    { name: 'stateRoot', type: 'bytes32' },
    { name: 'roundsRoot', type: 'bytes32' },
    { name: 'deltasRoot', type: 'bytes32' },
    { name: 'depositsFrom', type: 'uint64' },
    { name: 'depositsThrough', type: 'uint64' },
    { name: 'burned', type: 'uint128' },
    { name: 'rounds', type: 'uint32' },
    { name: 'beaconChain', type: 'uint32' },
    { name: 'beaconIndex', type: 'uint64' },
    { name: 'beaconTip', type: 'bytes32' },
    { name: 'transcripts', type: 'string' },
  ],
} as const

/** A beacon of the ledger's chains, as the contract holds one. */
export interface BeaconAt {
  chain: number
  index: bigint
  value: Hex
}

export interface AccountLeaf {
  account: Hex
  payout: Address
  held: bigint
  withdrawable: bigint
  reputation: Hex
}

export interface RoundLeaf {
  batch: bigint
  position: number
  round: Hex
  transcriptRoot: Hex
  entry: Hex
  /** The hash of what its entry changed in each account's claim (`changesHash`). */
  deltas: Hex
  /** Its two beacons (zero for rounds by rules without beacons). */
  beaconChain: number
  membersIndex: bigint
  membersBeacon: Hex
  assignmentIndex: bigint
  assignmentBeacon: Hex
}

export interface Delta {
  account: Hex
  delta: bigint
}

/** Where a batch starts: after the previous one (or at genesis), and the log entry it ended on. */
export interface BatchBase {
  index: bigint
  seq: number
  stateRoot: Hex
  deposits: number
  /** Micro-units the ledger had destroyed by then. */
  destroyed: bigint
  beacon: BeaconAt
  /** What each account could claim: held in the ledger plus released for withdrawal. */
  held: ReadonlyMap<string, bigint>
}

export interface Batch {
  header: BatchHeader
  accounts: AccountLeaf[]
  deltas: Delta[]
  /** One leaf per round settled or expired, and, beside each, what its entry changed. */
  rounds: RoundLeaf[]
  roundChanges: Delta[][]
  /** Where the next batch starts. */
  next: BatchBase
}

const NO_PAYOUT: Address = '0x0000000000000000000000000000000000000000'
const ZERO: Hex = `0x${'00'.repeat(32)}`
const hex32 = (h: string): Hex => `0x${h}`

export const accountLeafHash = (a: AccountLeaf): Hex =>
  leafHash(encodeAbiParameters([{ type: 'bytes32' }, { type: 'address' }, { type: 'uint128' }, { type: 'uint128' }, { type: 'bytes32' }], [a.account, a.payout, a.held, a.withdrawable, a.reputation]))

export const deltaLeafHash = (d: Delta): Hex => leafHash(encodeAbiParameters([{ type: 'bytes32' }, { type: 'int128' }], [d.account, d.delta]))

export const roundLeafHash = (r: RoundLeaf): Hex =>
  leafHash(
    encodeAbiParameters(
      [{ type: 'uint64' }, { type: 'uint32' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'uint32' }, { type: 'uint64' }, { type: 'bytes32' }, { type: 'uint64' }, { type: 'bytes32' }],
      [r.batch, r.position, r.round, r.transcriptRoot, r.entry, r.deltas, r.beaconChain, r.membersIndex, r.membersBeacon, r.assignmentIndex, r.assignmentBeacon],
    ),
  )

const changesOf = (r: RoundEntry): Delta[] => r.changes.map((c) => ({ account: hex32(c.account), delta: c.delta }))

/** The newest beacon a ledger had issued (zeros before its first chain). */
function beaconOf(ledger: SqliteLedger): BeaconAt {
  const b = ledger.chain.beaconLast()
  return b === undefined ? { chain: 0, index: 0n, value: ZERO } : { chain: b.chain, index: BigInt(b.index), value: hex32(b.value) }
}

/** The hash a round leaf holds of its entry's changes (contracts/ChorusRollup.sol `changesHash`). */
export const changesHash = (changes: readonly Delta[]): Hex =>
  keccak256(encodeAbiParameters([{ type: 'bytes32[]' }, { type: 'int128[]' }], [changes.map((c) => c.account), changes.map((c) => c.delta)]))

/** A round's leaf: where it sits, what it settled (or that it expired), its changes, and its beacons. */
function roundLeaf(ledger: SqliteLedger, batch: bigint, position: number, r: RoundEntry): RoundLeaf {
  const members = ledger.beaconOf(r.round, 'members')
  const assignment = ledger.beaconOf(r.round, 'assignment')
  return {
    batch,
    position,
    round: hex32(r.round),
    transcriptRoot: r.root === undefined ? ZERO : hex32(r.root),
    entry: hex32(r.entry),
    deltas: changesHash(changesOf(r)),
    beaconChain: members?.chain ?? assignment?.chain ?? 0,
    membersIndex: BigInt(members?.index ?? 0),
    membersBeacon: members === undefined ? ZERO : hex32(members.value),
    assignmentIndex: BigInt(assignment?.index ?? 0),
    assignmentBeacon: assignment === undefined ? ZERO : hex32(assignment.value),
  }
}

/**
 * What each account can claim from custody: what it holds in the ledger and what it released for
 * withdrawal (a release moves money between the two; only deposits and burns change the sum).
 */
function claims(accounts: readonly AccountLeaf[]): Map<string, bigint> {
  return new Map(accounts.map((a) => [a.account, a.held + a.withdrawable]))
}

/** The accounts' leaves of a ledger as it stands. */
export function accountLeaves(ledger: SqliteLedger): AccountLeaf[] {
  return ledger.chain.holdings().map((h) => ({ account: hex32(h.account), payout: (h.payout as Address | undefined) ?? NO_PAYOUT, held: h.held, withdrawable: h.released, reputation: keccak256(stringToHex(h.reputation)) }))
}

/** The state root of a ledger as it stands (the genesis root a rollup is deployed with, too). */
export function stateRoot(ledger: SqliteLedger): Hex {
  return new MerkleTree(accountLeaves(ledger).map(accountLeafHash)).root
}

/** Where the first batch of a ledger starts (deploy the contract with its state root). */
export function genesisBase(ledger: SqliteLedger): BatchBase {
  const accounts = accountLeaves(ledger)
  return { index: 0n, seq: ledger.headSeq(), stateRoot: new MerkleTree(accounts.map(accountLeafHash)).root, deposits: ledger.chain.credited(), destroyed: ledger.supply().destroyed, beacon: beaconOf(ledger), held: claims(accounts) }
}

/** The batch from `base` to the ledger's newest entry. */
export function buildBatch(ledger: SqliteLedger, base: BatchBase, transcripts: string): Batch {
  const seq = ledger.headSeq()
  const accounts = accountLeaves(ledger)
  const held = claims(accounts)
  const deltas: Delta[] = []
  for (const account of [...new Set([...base.held.keys(), ...held.keys()])].sort()) {
    const delta = (held.get(account) ?? 0n) - (base.held.get(account) ?? 0n)
    if (delta !== 0n) deltas.push({ account: account as Hex, delta })
  }
  const entries = ledger.chain.roundEntriesBetween(base.seq, seq)
  const rounds = entries.map((r, position) => roundLeaf(ledger, base.index, position, r))
  const beacon = beaconOf(ledger)
  const root = new MerkleTree(accounts.map(accountLeafHash)).root
  const deposits = ledger.chain.credited()
  const { destroyed } = ledger.supply()
  const header: BatchHeader = {
    index: base.index,
    logSeq: BigInt(seq),
    logHead: hex32(ledger.head()),
    prevStateRoot: base.stateRoot,
    stateRoot: root,
    roundsRoot: new MerkleTree(rounds.map(roundLeafHash)).root,
    deltasRoot: new MerkleTree(deltas.map(deltaLeafHash)).root,
    depositsFrom: BigInt(base.deposits),
    depositsThrough: BigInt(deposits),
    burned: destroyed - base.destroyed,
    rounds: rounds.length,
    beaconChain: beacon.chain,
    beaconIndex: beacon.index,
    beaconTip: beacon.value,
    transcripts,
  }
  return { header, accounts, deltas, rounds, roundChanges: entries.map(changesOf), next: { index: base.index + 1n, seq, stateRoot: root, deposits, destroyed, beacon, held } }
}
