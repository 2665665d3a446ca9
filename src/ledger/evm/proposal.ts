import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { type Address, type Hex, isAddress, isHex, recoverTypedDataAddress } from 'viem'
import { BATCH_TYPES, type BatchHeader } from './batch.js'
import type { BatchBody } from './faults.js'
import type { Signature } from './sequencer.js'

/**
 * The next batch as the sequencer proposes it, with the verifiers' signatures gathered so far
 * (`batch-proposal.json` beside the ledger file; `ledger serve` serves it and takes signatures).
 * A signature is kept only if it recovers to the signer it names over this very header.
 */
export interface Proposal {
  header: BatchHeader
  signatures: Signature[]
  /** The lists its roots commit, published so that anyone can dispute it (faults.ts). */
  body?: BatchBody
}

/** A posted batch as the sequencer keeps it published: its header and its body. */
export interface PublishedBatch {
  header: BatchHeader
  body: BatchBody
}

export type BatchDomain = { name: string; version: string; chainId: number; verifyingContract: Address }

/** JSON with bigints as "123n" (amounts, and the header's uint64 and uint128 fields). */
export const toJson = (x: unknown): string => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))
export const fromJson = (text: string): unknown => JSON.parse(text, (_k, v: unknown) => (typeof v === 'string' && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v))
export const proposalToJson = (p: Proposal): string => toJson(p)
export const proposalFromJson = (text: string): Proposal => fromJson(text) as Proposal

/**
 * Where the open proposal is kept between the sequencer's turns and the verifiers' signatures,
 * and where posted batches stay published.
 */
export interface ProposalStore {
  read(): Promise<Proposal | undefined>
  write(p: Proposal): Promise<void>
  clear(): Promise<void>
  publish(b: PublishedBatch): Promise<void>
  published(index: bigint): Promise<PublishedBatch | undefined>
  /** The indices of the newest posted batches, newest first. */
  latest(limit: number): Promise<bigint[]>
}

/**
 * A proposal file, written whole to a temporary file and renamed (a reader never sees half of
 * one), and the posted batches in `batches/<index>.json` beside it.
 */
export function proposalFile(path: string): ProposalStore {
  const dir = join(dirname(path), 'batches')
  return {
    publish: async (b) => {
      await mkdir(dir, { recursive: true })
      await writeFile(join(dir, `${b.header.index}.json.tmp`), toJson(b))
      await rename(join(dir, `${b.header.index}.json.tmp`), join(dir, `${b.header.index}.json`))
    },
    published: async (index) => {
      try {
        return fromJson(await readFile(join(dir, `${index}.json`), 'utf8')) as PublishedBatch
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw err
      }
    },
    latest: async (limit) => {
      const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [] as string[]
        throw err
      })
      const indices = names.flatMap((n) => (/^\d{1,18}\.json$/.test(n) ? [BigInt(n.slice(0, -5))] : []))
      return indices.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)).slice(0, limit)
    },
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
