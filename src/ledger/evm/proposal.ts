import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { type Address, type Hex, isAddress, isHex, recoverTypedDataAddress } from 'viem'
import { BATCH_TYPES, type BatchHeader } from './batch.js'
import type { Signature } from './sequencer.js'

/**
 * The next batch as the sequencer proposes it, with the verifiers' signatures gathered so far
 * (`batch-proposal.json` beside the ledger file; `ledger serve` serves it and takes signatures).
 * A signature is kept only if it recovers to the signer it names over this very header.
 */
export interface Proposal {
  header: BatchHeader
  signatures: Signature[]
}

export type BatchDomain = { name: string; version: string; chainId: number; verifyingContract: Address }

/** JSON with bigints as "123n" (the header's uint64 and uint128 fields). */
export const proposalToJson = (p: Proposal): string => JSON.stringify(p, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v), 2)
export const proposalFromJson = (text: string): Proposal => JSON.parse(text, (_k, v: unknown) => (typeof v === 'string' && /^\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v)) as Proposal

/** Where the open proposal is kept between the sequencer's turns and the verifiers' signatures. */
export interface ProposalStore {
  read(): Promise<Proposal | undefined>
  write(p: Proposal): Promise<void>
  clear(): Promise<void>
}

/** A proposal file, written whole to a temporary file and renamed: a reader never sees half of one. */
export function proposalFile(path: string): ProposalStore {
  return {
    read: async () => {
      try {
        return proposalFromJson(await readFile(path, 'utf8'))
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw err
      }
    },
    write: async (p) => {
      await writeFile(`${path}.tmp`, proposalToJson(p))
      await rename(`${path}.tmp`, path)
    },
    clear: () => rm(path, { force: true }),
  }
}

export class BadSignature extends Error {
  readonly code = 'BAD_SIGNATURE'
}

/** The proposal with `s` added (a signer's earlier signature replaced), if it signs this header. */
export async function withSignature(p: Proposal, s: { index?: unknown; signer?: unknown; signature?: unknown }, domain: BatchDomain): Promise<Proposal> {
  if (typeof s.signer !== 'string' || !isAddress(s.signer) || typeof s.signature !== 'string' || !isHex(s.signature) || s.signature.length !== 132) throw new BadSignature('a signature is {index, signer: 0x… address, signature: 65 bytes hex}')
  if (s.index !== String(p.header.index)) throw new BadSignature(`the proposal is batch ${p.header.index}, not ${String(s.index)}`)
  const recovered = await recoverTypedDataAddress({ domain, types: BATCH_TYPES, primaryType: 'Batch', message: p.header, signature: s.signature as Hex })
  if (recovered.toLowerCase() !== s.signer.toLowerCase()) throw new BadSignature(`the signature is not ${s.signer}'s over this batch`)
  return { header: p.header, signatures: [...p.signatures.filter((x) => x.signer.toLowerCase() !== recovered.toLowerCase()), { signer: recovered, signature: s.signature as Hex }] }
}
