import { type Address, type Hex, type LocalAccount, parseEther } from 'viem'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { hashParts } from '../../../src/crypto/hash.js'
import { identityFromSeed, signBytes } from '../../../src/crypto/identity.js'
import { type Batch, type BatchBase, buildBatch, deltaLeafHash, genesisBase, roundLeafHash } from '../../../src/ledger/evm/batch.js'
import { MerkleTree, verifyProof } from '../../../src/ledger/evm/merkle.js'
import { finalLeaf } from '../../../src/ledger/evm/withdrawal.js'
import { bodyMismatch, disputeFault, findFault } from '../../../src/ledger/evm/faults.js'
import { revertReason } from './revertReason.js'
import { Rollup } from '../../../src/ledger/evm/rollup.js'
import { BatchMismatch, BatchReplica, signBatch } from '../../../src/ledger/evm/verifyBatch.js'
import { accountLeafHash } from '../../../src/ledger/evm/batch.js'
import { signRequest } from '../../../src/ledger/requests.js'
import { SqliteLedger } from '../../../src/ledger/sqliteLedger.js'
import { ident } from '../../round/harness.js'
import { GATE_OFF, playRound, population } from '../compliance.js'
import { Harness } from '../../round/harness.js'
import { signBeaconRequest } from '../../../src/ledger/beaconRequest.js'
import { CURRENT_RULES } from '../../../src/protocol/rulesVersions.js'
import { anvilEngine, edrEngine, type LocalEngine } from '../../../src/ledger/evm/localEngines.js'

/**
 * The rollup on Hardhat's in-process EVM: the SQLite ledger sequences rounds, the chain holds the
 * money and accepts batches that k of n verifiers rebuilt from the log and signed, final after the
 * challenge window; a proven fault undoes the batch and slashes its signers.
 */
const operator = identityFromSeed(Buffer.from(hashParts('evm-sequencer-operator'), 'hex'))
const WINDOW_S = 3_600
const NODES = 5
const asHex = (s: string): Hex => `0x${s}`

interface World {
  chain: LocalEngine
  ledger: SqliteLedger
  rollup: Rollup
  verifiers: LocalAccount[]
  base: BatchBase
  genesisSeq: number
}

async function world(chain: LocalEngine): Promise<World> {
  let t = 1_800_000_000_000
  const ledger = SqliteLedger.open({ path: ':memory:', operator, now: () => (t += 1), rules: { oldestRules: 1, ...GATE_OFF } })
  const gateway = ident('coordinator')
  const nodes = Array.from({ length: NODES }, (_, i) => ident(`node-${i}`))
  ledger.submit(signRequest(gateway, 0, { op: 'register', kind: 'gateway' }))
  for (const n of nodes) ledger.submit(signRequest(n, 0, { op: 'register', kind: 'node' }))
  const sequencer = await chain.account('sequencer')
  const base = genesisBase(ledger)
  const rollup = await Rollup.deploy(
    { sequencer: sequencer.address, threshold: 2, minVerifierBond: parseEther('1'), challengeWindowS: WINDOW_S, disputeBond: parseEther('0.1'), genesisStateRoot: base.stateRoot, genesisBeacon: base.beacon },
    chain.publicClient,
    chain.wallet(sequencer),
  )
  const verifiers: LocalAccount[] = []
  for (let i = 0; i < 3; i++) {
    const v = await chain.account(`verifier-${i}`)
    const node = ident(`verifier-node-${i}`)
    const binding = asHex(signBytes(node, Buffer.from(`chorus/evm-verifier\n${v.address}`)))
    await rollup.as(chain.wallet(v)).registerVerifier(node.id, binding, parseEther('1'))
    verifiers.push(v)
  }
  // Money comes in on the chain; the sequencer credits each deposit, in order; then they stake.
  const payer = rollup.as(chain.wallet(await chain.account('payer')))
  await payer.deposit(gateway.id, 100_000_000n)
  for (const n of nodes) await payer.deposit(n.id, 2_000_000n)
  for (const d of await rollup.deposits(0)) ledger.creditDeposit(d)
  ledger.submit(signRequest(gateway, 1, { op: 'stake', amount: '50000000' }))
  for (const n of nodes) ledger.submit(signRequest(n, 1, { op: 'stake', amount: '2000000' }))
  return { chain, ledger, rollup, verifiers, base, genesisSeq: base.seq }
}

/** Settles `n` real rounds (question numbers from `from`). */
function settleRounds(w: World, n: number, from: number): void {
  for (let r = 0; r < n; r++) w.ledger.settle(playRound(w.ledger, NODES, { coordSeq: from + r }))
}

/** Each verifier rebuilds the batch from the log and signs it. */
async function cosign(w: World, batch: Batch, replicas: BatchReplica[], signers: number) {
  const out: { signer: Address; signature: Hex }[] = []
  for (let i = 0; i < signers; i++) {
    await replicas[i]!.verify(batch.header)
    out.push({ signer: w.verifiers[i]!.address, signature: await signBatch(w.verifiers[i]!, w.rollup.domain, batch.header) })
  }
  return out
}


describe('the rollup on an EVM (Hardhat EDR)', () => {
  let w: World
  let replicas: BatchReplica[]
  beforeEach(async () => {
    w = await world(await edrEngine())
    replicas = w.verifiers.map(() => new BatchReplica((from, limit) => w.ledger.entries(from, limit), w.genesisSeq))
  })
  afterEach(() => {
    for (const r of replicas) r.close()
    w.ledger.close()
  })

  it('accepts a batch k of n verifiers rebuilt and signed, final after its window, with every balance as the sequencer has it', async () => {
    settleRounds(w, 3, 1)
    const batch = buildBatch(w.ledger, w.base, 'http://127.0.0.1/v1/ledger/entries')
    expect(batch.header.rounds).toBe(3)
    const sigs = await cosign(w, batch, replicas, 2)
    // One signature is fewer than the threshold (2 of 3).
    expect(await revertReason(w.rollup.postBatch(batch.header, sigs.slice(0, 1)))).toMatch(/fewer than the threshold/)
    // A signature over another header is not a verifier's.
    const other = { ...batch.header, rounds: 4 }
    expect(await revertReason(w.rollup.postBatch(other, sigs))).toMatch(/not an active verifier/)
    await w.rollup.postBatch(batch.header, sigs)
    expect(await revertReason(w.rollup.finalize(batch.header))).toMatch(/NotFinalYet/)
    await w.chain.advance(WINDOW_S)
    await w.rollup.finalize(batch.header)
    const state = await w.rollup.state()
    expect(state).toMatchObject({ batchCount: 1n, finalCount: 1n, finalStateRoot: batch.header.stateRoot })
    // Every account's leaf stands on the chain, holding what the ledger says, to the micro-unit.
    const tree = new MerkleTree(batch.accounts.map(accountLeafHash))
    for (const [i, leaf] of batch.accounts.entries()) {
      const a = w.ledger.account(leaf.account.slice(2))!
      expect(leaf.held).toBe(a.balance + a.stake + a.unbonding)
      expect(await w.rollup.holds(leaf, tree.proof(i))).toBe(true)
    }
    const forged = { ...batch.accounts[0]!, held: batch.accounts[0]!.held + 1n }
    expect(await w.rollup.holds(forged, tree.proof(0))).toBe(false)
    // Rounds only move money between accounts: what the accounts gained is what was deposited.
    expect(batch.deltas.reduce((s, d) => s + d.delta, 0n)).toBe(100_000_000n + BigInt(NODES) * 2_000_000n)
  })

  it('pays out what an account released, by proof against the final state root, once', async () => {
    settleRounds(w, 1, 1)
    const node = ident('node-2')
    const payout = await w.chain.account('payout-of-node-2')
    const before = await w.chain.publicClient.getBalance({ address: payout.address })
    const nonce = w.ledger.account(node.id)!.nonce
    w.ledger.submit(signRequest(node, nonce, { op: 'release', amount: '50000', to: payout.address.toLowerCase() }))
    expect(() => w.ledger.submit(signRequest(node, nonce + 1, { op: 'release', amount: '999000000', to: payout.address.toLowerCase() }))).toThrow(/below/)
    const batch = buildBatch(w.ledger, w.base, 'x')
    // A release moves money out of the ledger, not out of the account's claim on custody: the
    // verifiers' replays (cosign) find the batch conserving.
    await w.rollup.postBatch(batch.header, await cosign(w, batch, replicas, 2))
    const entries = (from: number, limit: number) => w.ledger.entries(from, limit)
    expect(await finalLeaf(w.rollup, entries, w.genesisSeq, node.id)).toBeUndefined()
    await w.chain.advance(WINDOW_S)
    await w.rollup.finalize(batch.header)
    const claim = (await finalLeaf(w.rollup, entries, w.genesisSeq, node.id))!
    expect(claim.leaf).toMatchObject({ withdrawable: 50_000n, payout: payout.address.toLowerCase() })
    const carrier = w.rollup.as(w.chain.wallet(await w.chain.account('carrier')))
    await carrier.withdraw(claim.leaf, claim.proof)
    expect((await w.chain.publicClient.getBalance({ address: payout.address })) - before).toBe(parseEther('0.05'))
    expect(await revertReason(carrier.withdraw(claim.leaf, claim.proof))).toMatch(/NothingToWithdraw/)
    expect(await revertReason(carrier.withdraw({ ...claim.leaf, withdrawable: 100_000n }, claim.proof))).toMatch(/BadProof/)
  })

  it('a verifier refuses to sign a batch that is not its own replay, or that makes money from nothing', async () => {
    settleRounds(w, 1, 1)
    const batch = buildBatch(w.ledger, w.base, 'x')
    await expect(replicas[0]!.verify({ ...batch.header, stateRoot: batch.header.roundsRoot })).rejects.toMatchObject({ fields: ['stateRoot'] })
    // The operator's faucet is a valid log entry, but on a custody chain no deposit backs it.
    w.ledger.credit(ident('node-0').id, 5n)
    const inflated = buildBatch(w.ledger, w.base, 'x')
    const err = await replicas[1]!.verify(inflated.header).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BatchMismatch)
    expect((err as BatchMismatch).fields).toEqual(['conservation', 'netting'])
  })

  it('a proven non-conserving batch is undone and its signers slashed; a dispute of a right batch loses its bond', async () => {
    settleRounds(w, 2, 1)
    const right = buildBatch(w.ledger, w.base, 'x')
    await w.rollup.postBatch(right.header, await cosign(w, right, replicas, 2))
    const disputerAccount = await w.chain.account('disputer')
    const disputer = w.rollup.as(w.chain.wallet(disputerAccount))
    const signers = [w.verifiers[0]!.address, w.verifiers[1]!.address].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
    await disputer.disputeConservation(right.header, signers, right.deltas)
    expect(await w.rollup.forfeited()).toBe(parseEther('0.1'))
    expect((await w.rollup.state()).batchCount).toBe(1n)
    // A list that is not the batch's is no dispute at all.
    expect(await revertReason(disputer.disputeConservation(right.header, signers, right.deltas.slice(1)))).toMatch(/not the batch's deltas/)

    // Two lazy verifiers sign without replaying; the sequencer's faucet made money from nothing.
    settleRounds(w, 1, 10)
    w.ledger.credit(ident('node-1').id, 7n)
    const bad = buildBatch(w.ledger, right.next, 'x')
    const lazy = [w.verifiers[1]!, w.verifiers[2]!]
    const sigs = await Promise.all(lazy.map(async (v) => ({ signer: v.address, signature: await signBatch(v, w.rollup.domain, bad.header) })))
    await w.rollup.postBatch(bad.header, sigs)
    const lazySigners = lazy.map((v) => v.address).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
    expect(findFault(bad.header, bad, [], await w.rollup.genesisBeacon())).toEqual({ kind: 'conservation' })
    const balance = () => w.chain.publicClient.getBalance({ address: disputerAccount.address })
    const before = await balance()
    await disputer.disputeConservation(bad.header, lazySigners, bad.deltas)
    const state = await w.rollup.state()
    expect(state.batchCount).toBe(1n)
    expect(state.tipStateRoot).toBe(right.header.stateRoot)
    for (const v of lazy) expect(await w.rollup.verifier(v.address)).toMatchObject({ bond: 0n, active: false })
    expect(await w.rollup.verifier(w.verifiers[0]!.address)).toMatchObject({ bond: parseEther('1'), active: true })
    // The disputer got its bond back and half of each slashed bond (less gas); the rest is forfeited.
    const gained = (await balance()) - before
    expect(gained).toBeLessThanOrEqual(parseEther('1'))
    expect(gained).toBeGreaterThan(parseEther('0.99'))
    expect(await w.rollup.forfeited()).toBe(parseEther('0.1') + parseEther('1'))
  })

  it('puts a disputed outcome to the vote of the verifiers that did not sign: voted wrong, the batch is undone; voted right, the bond is lost', async () => {
    const byAddress = (a: Address, b: Address) => (BigInt(a) < BigInt(b) ? -1 : 1)
    const signed = [w.verifiers[0]!, w.verifiers[1]!]
    const signers = signed.map((v) => v.address).sort(byAddress)
    const outsider = w.rollup.as(w.chain.wallet(w.verifiers[2]!))
    const disputer = w.rollup.as(w.chain.wallet(await w.chain.account('outcome-disputer')))
    const post = async (from: number) => {
      settleRounds(w, 1, from)
      const batch = buildBatch(w.ledger, w.base, 'x')
      await w.rollup.postBatch(batch.header, await cosign(w, batch, replicas, 2))
      return { batch, proof: new MerkleTree(batch.rounds.map(roundLeafHash)).proof(0) }
    }
    // Voted right: the dispute's bond is lost, and the batch becomes final after the vote.
    const kept = await post(1)
    const lost = await disputer.disputeOutcome(kept.batch.header, { leaf: kept.batch.rounds[0]!, proof: kept.proof }, 'the winner should be another answer')
    expect(await revertReason(w.rollup.as(w.chain.wallet(w.verifiers[0]!)).voteOutcome(lost, true, signers))).toMatch(/a signer of the batch does not vote/)
    await outsider.voteOutcome(lost, false, signers)
    await w.chain.advance(WINDOW_S)
    expect(await revertReason(w.rollup.finalize(kept.batch.header))).toMatch(/a vote on one of its outcomes is running/)
    expect(await revertReason(disputer.resolveOutcome(lost, kept.batch.header, signers))).toBe('accepted')
    expect(await w.rollup.forfeited()).toBe(parseEther('0.1'))
    await w.rollup.finalize(kept.batch.header)
    w.base = kept.batch.next

    // Voted wrong: the batch is undone and its signers slashed, the disputer paid.
    const wrong = await post(2)
    const won = await disputer.disputeOutcome(wrong.batch.header, { leaf: wrong.batch.rounds[0]!, proof: wrong.proof }, 'replayed, the transcript gives another winner')
    await outsider.voteOutcome(won, true, signers)
    expect(await revertReason(disputer.resolveOutcome(won, wrong.batch.header, signers))).toMatch(/still running/)
    await w.chain.advance(WINDOW_S)
    await disputer.resolveOutcome(won, wrong.batch.header, signers)
    expect((await w.rollup.state()).batchCount).toBe(1n)
    for (const v of signed) expect((await w.rollup.verifier(v.address)).active).toBe(false)
  })

  it('a batch whose net changes conserve money but misplace it is proven wrong from its rounds\' own changes', async () => {
    settleRounds(w, 2, 1)
    const honest = buildBatch(w.ledger, w.base, 'x')
    // Five micro-units moved from one account's net change to another's: the sum still conserves.
    const [a, b] = [honest.deltas[0]!, honest.deltas[1]!]
    const deltas = honest.deltas.map((d) => (d === a ? { ...d, delta: d.delta + 5n } : d === b ? { ...d, delta: d.delta - 5n } : d))
    const tree = new MerkleTree(deltas.map(deltaLeafHash))
    const header = { ...honest.header, deltasRoot: tree.root }
    await expect(replicas[0]!.verify(header)).rejects.toMatchObject({ fields: ['deltasRoot'] })
    const lazy = [w.verifiers[0]!, w.verifiers[1]!]
    await w.rollup.postBatch(header, await Promise.all(lazy.map(async (v) => ({ signer: v.address, signature: await signBatch(v, w.rollup.domain, header) }))))
    const disputer = w.rollup.as(w.chain.wallet(await w.chain.account('netting-disputer')))
    const signers = lazy.map((v) => v.address).sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1))
    // Conservation holds, so that dispute would lose; netting an honest account would lose too.
    const honestAccount = deltas.findIndex((d) => d !== deltas[0] && d !== deltas[1])
    if (honestAccount >= 0) {
      await disputer.disputeNetting(header, signers, honest.rounds, honest.roundChanges, deltas[honestAccount]!, tree.proof(honestAccount))
      expect(await w.rollup.forfeited()).toBe(parseEther('0.1'))
    }
    // What a disputer holding the published body finds, and proves.
    const body = { accounts: honest.accounts, deltas, rounds: honest.rounds, roundChanges: honest.roundChanges }
    expect(bodyMismatch(header, body)).toBeUndefined()
    const deposits = await w.rollup.deposits(0)
    const fault = findFault(header, body, deposits, await w.rollup.genesisBeacon())
    expect(fault).toEqual({ kind: 'netting', delta: 0 })
    await disputeFault(disputer, header, signers, body, fault!, 'genesis')
    expect((await w.rollup.state()).batchCount).toBe(0n)
    for (const v of lazy) expect((await w.rollup.verifier(v.address)).active).toBe(false)
  })

  it('respects the window and the unbonding delay: a fault proven too late undoes nothing, and staked money cannot be released', async () => {
    settleRounds(w, 1, 1)
    w.ledger.credit(ident('node-3').id, 9n)
    const bad = buildBatch(w.ledger, w.base, 'x')
    const lazy = [w.verifiers[0]!, w.verifiers[1]!]
    await w.rollup.postBatch(bad.header, await Promise.all(lazy.map(async (v) => ({ signer: v.address, signature: await signBatch(v, w.rollup.domain, bad.header) }))))
    await w.chain.advance(WINDOW_S)
    const disputer = w.rollup.as(w.chain.wallet(await w.chain.account('late-disputer')))
    const signers = lazy.map((v) => v.address).sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1))
    expect(await revertReason(disputer.disputeConservation(bad.header, signers, bad.deltas))).toMatch(/challenge window is over/)
    await w.rollup.finalize(bad.header)
    // Stake leaves only through unbonding and its delay: a release takes balance alone.
    const node = ident('node-4')
    const a = w.ledger.account(node.id)!
    expect(() => w.ledger.submit(signRequest(node, a.nonce, { op: 'release', amount: String(a.balance + 1n), to: '0x00000000000000000000000000000000000000aa' }))).toThrow(/below/)
    w.ledger.submit(signRequest(node, a.nonce, { op: 'unbond', amount: '1000000' }))
    expect(() => w.ledger.submit(signRequest(node, a.nonce + 1, { op: 'withdraw' }))).toThrow(/can be withdrawn from/)
  })

  it('puts a batch whose body was never published to the same vote, as a whole', async () => {
    settleRounds(w, 1, 1)
    const batch = buildBatch(w.ledger, w.base, 'x')
    await w.rollup.postBatch(batch.header, await cosign(w, batch, replicas, 2))
    const signers = [w.verifiers[0]!.address, w.verifiers[1]!.address].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
    const disputer = w.rollup.as(w.chain.wallet(await w.chain.account('withheld-disputer')))
    const whole = await disputer.disputeBatch(batch.header, 'its body was never published')
    await w.rollup.as(w.chain.wallet(w.verifiers[2]!)).voteOutcome(whole, true, signers)
    await w.chain.advance(WINDOW_S)
    expect(await revertReason(w.rollup.finalize(batch.header))).toMatch(/a vote on one of its outcomes is running/)
    await disputer.resolveOutcome(whole, batch.header, signers)
    expect((await w.rollup.state()).batchCount).toBe(0n)
  })

  it('a round settled twice is proven from two leaves, and the later batch undone', async () => {
    settleRounds(w, 2, 1)
    const first = buildBatch(w.ledger, w.base, 'x')
    await w.rollup.postBatch(first.header, await cosign(w, first, replicas, 2))
    // The sequencer repeats the first batch's round 0 in the next, and two verifiers sign unchecked.
    settleRounds(w, 1, 20)
    const honest = buildBatch(w.ledger, first.next, 'x')
    const copied = { ...first.rounds[0]!, batch: honest.header.index, position: honest.rounds.length }
    const rounds = [...honest.rounds, copied]
    const tree = new MerkleTree(rounds.map(roundLeafHash))
    const header = { ...honest.header, roundsRoot: tree.root, rounds: rounds.length }
    const lazy = [w.verifiers[0]!, w.verifiers[2]!]
    await w.rollup.postBatch(header, await Promise.all(lazy.map(async (v) => ({ signer: v.address, signature: await signBatch(v, w.rollup.domain, header) }))))
    const firstTree = new MerkleTree(first.rounds.map(roundLeafHash))
    expect(verifyProof(firstTree.proof(0), first.header.roundsRoot, roundLeafHash(first.rounds[0]!))).toBe(true)
    const disputer = w.rollup.as(w.chain.wallet(await w.chain.account('disputer')))
    const signers = lazy.map((v) => v.address).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
    // The same leaf twice is not two settlements.
    expect(await revertReason(disputer.disputeDoubleSettlement(header, signers, first.header, { leaf: first.rounds[0]!, proof: firstTree.proof(0) }, { leaf: first.rounds[0]!, proof: firstTree.proof(0) }))).toMatch(/not two places|not of these batches/)
    await disputer.disputeDoubleSettlement(header, signers, first.header, { leaf: first.rounds[0]!, proof: firstTree.proof(0) }, { leaf: copied, proof: tree.proof(rounds.length - 1) })
    expect((await w.rollup.state()).batchCount).toBe(1n)
    for (const v of lazy) expect((await w.rollup.verifier(v.address)).active).toBe(false)
  })
})

describe('the rollup on anvil (a devnet engine on 127.0.0.1)', () => {
  it('deploys, takes deposits and a co-signed batch over JSON-RPC, and stops', async () => {
    const engine = await anvilEngine()
    const w = await world(engine)
    const replicas = w.verifiers.map(() => new BatchReplica((from, limit) => w.ledger.entries(from, limit), w.genesisSeq))
    try {
      expect(engine.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      settleRounds(w, 1, 1)
      const batch = buildBatch(w.ledger, w.base, 'x')
      await w.rollup.postBatch(batch.header, await cosign(w, batch, replicas, 2))
      expect(await w.rollup.state()).toMatchObject({ batchCount: 1n, tipStateRoot: batch.header.stateRoot, depositCount: BigInt(NODES + 1) })
    } finally {
      for (const r of replicas) r.close()
      w.ledger.close()
      await engine.close()
    }
    await expect(fetch(engine.rpcUrl!)).rejects.toThrow()
  })
})

describe('beacons on the chain (Hardhat EDR)', () => {
  it('a batch whose beacon does not hash back to the committed chain is undone; one that does loses the dispute', async () => {
    const chain = await edrEngine()
    let t = 1_800_000_000_000
    const ledger = SqliteLedger.open({ path: ':memory:', operator, now: () => t, rules: GATE_OFF })
    try {
      const { gateway } = population(ledger, NODES)
      // Rules-3 rounds: tickets locked and both beacons issued by this ledger.
      const round = (coordSeq: number, settle = true) => {
        const h = new Harness({
          nodes: NODES,
          ledger: ledger.viewAt(ledger.head())!,
          now: t,
          rules: CURRENT_RULES,
          request: { coordSeq, fee: '1000000', ticket: '10000' },
          beacon: (phase, seal, query) => ledger.beacon(signBeaconRequest(gateway, query, phase, seal)),
          locks: (_node, j, query) => ledger.lockTicket({ query: query.env, join: j.env }).seq > 0,
        })
        if (h.outcome === undefined) h.runDeadlines()
        if (settle) ledger.settle(h.outcome!.transcript.map((m) => m.env))
        t += 1_000
      }
      round(1) // before the rollup: its genesis commits a beacon chain already started
      const base = genesisBase(ledger)
      expect(base.beacon.chain).toBe(1)
      const sequencer = await chain.account('sequencer')
      const rollup = await Rollup.deploy({ sequencer: sequencer.address, threshold: 2, minVerifierBond: parseEther('1'), challengeWindowS: WINDOW_S, disputeBond: parseEther('0.1'), genesisStateRoot: base.stateRoot, genesisBeacon: base.beacon }, chain.publicClient, chain.wallet(sequencer))
      const verifiers = await Promise.all([0, 1].map((i) => chain.account(`beacon-verifier-${i}`)))
      for (const [i, v] of verifiers.entries()) await rollup.as(chain.wallet(v)).registerVerifier(ident(`bv-${i}`).id, '0x', parseEther('1'))
      const signers = verifiers.map((v) => v.address).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
      const sign = async (header: Batch['header']) => Promise.all(verifiers.map(async (v) => ({ signer: v.address, signature: await signBatch(v, rollup.domain, header) })))
      round(2)
      round(3)
      const first = buildBatch(ledger, base, 'x')
      expect(first.rounds.every((r) => r.beaconChain === 1 && r.assignmentIndex > r.membersIndex)).toBe(true)
      await rollup.postBatch(first.header, await sign(first.header))
      const disputer = rollup.as(chain.wallet(await chain.account('beacon-disputer')))
      const tree = new MerkleTree(first.rounds.map(roundLeafHash))
      // The round's assignment beacon hashes back to the genesis beacon: the dispute is lost.
      await disputer.disputeBeacon(first.header, signers, 2, { leaf: first.rounds[1]!, proof: tree.proof(1) }, 'genesis')
      expect(await rollup.forfeited()).toBe(parseEther('0.1'))
      expect(await revertReason(disputer.disputeBeacon(first.header, signers, 1, { leaf: first.rounds[0]!, proof: tree.proof(1) }, 'genesis'))).toMatch(/BadProof/)

      // The sequencer swaps its tip for a value of its choosing; two verifiers sign unchecked.
      round(4)
      const honest = buildBatch(ledger, first.next, 'x')
      const forged = { ...honest.header, beaconTip: `0x${'ab'.repeat(32)}` as Hex }
      await rollup.postBatch(forged, await sign(forged))
      await disputer.disputeBeacon(forged, signers, 0, undefined, first.header)
      expect((await rollup.state()).batchCount).toBe(1n)
      for (const v of verifiers) expect((await rollup.verifier(v.address)).active).toBe(false)

      // A round its gateway never settles expires: its fee burns, and its expiry is a leaf too,
      // whose changes net with the rest (what a verifier's replay checks, conservation and netting).
      round(5, false)
      t += 3 * 3_600_000
      round(6)
      const withExpiry = buildBatch(ledger, first.next, 'x')
      expect(withExpiry.header.burned).toBeGreaterThan(0n)
      const expiry = withExpiry.rounds.findIndex((r) => r.transcriptRoot === `0x${'00'.repeat(32)}`)
      expect(withExpiry.roundChanges[expiry]).toEqual([{ account: asHex(gateway.id), delta: -withExpiry.header.burned }])
      const replica = new BatchReplica((from, limit) => ledger.entries(from, limit), base.seq)
      try {
        await replica.verify(first.header)
        await expect(replica.verify(withExpiry.header)).resolves.toMatchObject({ header: withExpiry.header })
      } finally {
        replica.close()
      }
    } finally {
      ledger.close()
    }
  })
})
