import { rm } from 'node:fs/promises'
import { type Address, type Hex, parseEther } from 'viem'
import { SeededRandom } from '../src/consensus/prng.js'
import { hashParts } from '../src/crypto/hash.js'
import { signBytes } from '../src/crypto/identity.js'
import { buildBatch, genesisBase } from '../src/ledger/evm/batch.js'
import { edrEngine } from '../src/ledger/evm/localEngines.js'
import { Rollup } from '../src/ledger/evm/rollup.js'
import { signBatch } from '../src/ledger/evm/verifyBatch.js'
import { ledgerWith, transcripts } from './ledger.bench.js'
import { type Figure, median } from './stats.js'

/**
 * What the custody chain costs per round, on Hardhat's in-process EVM: a ledger with 1 000 staked
 * nodes sequences rules-3 rounds (tickets locked, beacons issued, settled), each with 7 members
 * drawn from the 1 000, and posts them in batches of 1, 16 and 128, each co-signed by 2 of 3
 * verifiers and finalized after its window. Every per-round operation happens in the sequencer,
 * so the chain's whole cost per round is the batch's post and finalization over its rounds
 * (`evm_gas_per_round_N`). `evm_settle_batch_ms` is posting a 128-round batch and waiting for its
 * receipt (median of 3).
 */
export const figures = ['evm_gas_per_round_1', 'evm_gas_per_round_16', 'evm_gas_per_round_128', 'evm_settle_batch_ms']

const WINDOW_S = 600

export async function run(): Promise<Figure[]> {
  const { dir, ledger, members } = await ledgerWith(1_000)
  const engine = await edrEngine()
  try {
    const sequencer = await engine.account('sequencer')
    let base = genesisBase(ledger)
    const rollup = await Rollup.deploy({ sequencer: sequencer.address, threshold: 2, minVerifierBond: parseEther('1'), challengeWindowS: WINDOW_S, disputeBond: parseEther('0.1'), genesisStateRoot: base.stateRoot, genesisBeacon: base.beacon }, engine.publicClient, engine.wallet(sequencer))
    const verifiers = await Promise.all([0, 1, 2].map((i) => engine.account(`verifier-${i}`)))
    for (const [i, v] of verifiers.entries()) await rollup.as(engine.wallet(v)).registerVerifier(hashParts('bench-verifier', String(i)), `0x${signBytes(members[i]!.identity, Buffer.from(v.address))}`, parseEther('1'))
    const rng = new SeededRandom(hashParts('evm-bench-members'))
    let round = 0
    const settle = (n: number) => {
      for (let r = 0; r < n; r++, round++) {
        const seven = new Set<number>()
        while (seven.size < 7) seven.add(rng.nextInt(members.length))
        for (const t of transcripts(ledger, [...seven].map((i) => members[i]!), 1, round)) ledger.settle(t)
      }
    }
    const post = async (n: number): Promise<{ gas: bigint; ms: number }> => {
      settle(n)
      const batch = buildBatch(ledger, base, 'http://127.0.0.1/v1/ledger/entries')
      if (batch.header.rounds !== n) throw new Error(`the batch holds ${batch.header.rounds} rounds, not ${n}`)
      const sigs: { signer: Address; signature: Hex }[] = []
      for (const v of verifiers.slice(0, 2)) sigs.push({ signer: v.address, signature: await signBatch(v, rollup.domain, batch.header) })
      const t0 = performance.now()
      const posted = await rollup.postBatch(batch.header, sigs)
      const ms = performance.now() - t0
      await engine.advance(WINDOW_S)
      const finalized = await rollup.finalize(batch.header)
      base = batch.next
      return { gas: posted.gasUsed + finalized.gasUsed, ms }
    }
    const one = await post(1)
    const sixteen = await post(16)
    const big = [await post(128), await post(128), await post(128)]
    return [
      { name: 'evm_gas_per_round_1', value: Number(one.gas), unit: 'gas' },
      { name: 'evm_gas_per_round_16', value: Number(sixteen.gas) / 16, unit: 'gas' },
      { name: 'evm_gas_per_round_128', value: median(big.map((b) => Number(b.gas) / 128)), unit: 'gas' },
      { name: 'evm_settle_batch_ms', value: median(big.map((b) => b.ms)), unit: 'ms' },
    ]
  } finally {
    ledger.close()
    await engine.close()
    await rm(dir, { recursive: true, force: true })
  }
}
