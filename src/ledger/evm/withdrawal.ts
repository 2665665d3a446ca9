import type { Hex } from 'viem'
import { type AccountLeaf, accountLeafHash } from './batch.js'
import { MerkleTree } from './merkle.js'
import type { Rollup } from './rollup.js'
import { BatchReplica, type EntrySource } from './verifyBatch.js'

/**
 * An account's leaf in the latest final state root, with its proof: what anyone carries to the
 * chain to pay out what the account released (contracts/ChorusCustody.sol `withdraw`). Rebuilt
 * from the log by replaying the batches that stand, each checked as a verifier checks it.
 */
export async function finalLeaf(rollup: Rollup, entries: EntrySource, genesisSeq: number, account: string): Promise<{ leaf: AccountLeaf; proof: Hex[] } | undefined> {
  const { finalCount } = await rollup.state()
  if (finalCount === 0n) return undefined
  const replica = new BatchReplica(entries, genesisSeq)
  try {
    let accounts: AccountLeaf[] = []
    for (const { header } of (await rollup.postedBatches()).filter((b) => b.header.index < finalCount)) accounts = (await replica.verify(header)).accounts
    const i = accounts.findIndex((a) => a.account === `0x${account}`)
    if (i < 0) return undefined
    return { leaf: accounts[i]!, proof: new MerkleTree(accounts.map(accountLeafHash)).proof(i) }
  } finally {
    replica.close()
  }
}
