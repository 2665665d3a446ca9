import { hashParts } from '../crypto/hash.js'
import { type Identity, identityFromSeed, PublicKeyCache } from '../crypto/identity.js'
import { type AskOptions, type AskRequest, CoordinatorService, type RoundResult } from '../gateway/coordinatorService.js'
import type { ModelBackend } from '../models/backend.js'
import { NodeDaemon } from '../node/nodeDaemon.js'
import type { CryptoMeter } from '../protocol/envelope.js'
import type { PhaseDurations } from '../round/coordinator.js'
import { genesisLedgerView, type LedgerView } from '../round/ledgerView.js'
import type { Verification } from '../runtime/intake.js'
import { MemoryNetwork, type MemoryNetworkOptions } from '../transport/memory.js'

/**
 * Composition root for a whole swarm in one process: a coordinator and N nodes over the in-memory
 * transport. `chorus demo`, tests and benchmarks build on it.
 */
export interface EmbeddedSwarmOptions {
  nodes: number
  backendFor: (identity: Identity, index: number) => ModelBackend
  ledger?: LedgerView
  network?: MemoryNetworkOptions
  durations?: Partial<PhaseDurations>
  maxJudgeShare?: number
  /** Deterministic identities derived from this label (tests, benchmarks); random otherwise. */
  keySeed?: string
  meter?: CryptoMeter
  verification?: Verification
}

export interface EmbeddedSwarm {
  network: MemoryNetwork
  coordinator: CoordinatorService
  nodes: NodeDaemon[]
  ask(
    question: string,
    request?: Partial<AskRequest>,
    options?: AskOptions,
  ): Promise<RoundResult>
  stop(): Promise<void>
}

export function createEmbeddedSwarm(opts: EmbeddedSwarmOptions): EmbeddedSwarm {
  const ledger = opts.ledger ?? genesisLedgerView()
  const network = new MemoryNetwork(opts.network)
  // One process, one key cache: parsing a peer's key once serves every hosted node.
  const keys = new PublicKeyCache()
  const identity = (i: number) =>
    opts.keySeed === undefined
      ? undefined
      : identityFromSeed(Buffer.from(hashParts('test-key', opts.keySeed, String(i)), 'hex'))
  const coordIdentity = identity(-1) ?? identityFromSeed(randomSeed())
  const coordinator = new CoordinatorService(
    { identity: coordIdentity, ledger, maxJudgeShare: opts.maxJudgeShare, durations: opts.durations },
    { transport: network.endpoint(coordIdentity.id), meter: opts.meter, verification: opts.verification, keys },
  )
  const nodes: NodeDaemon[] = []
  for (let i = 0; i < opts.nodes; i++) {
    const id = identity(i) ?? identityFromSeed(randomSeed())
    nodes.push(
      new NodeDaemon(
        { identity: id, backend: opts.backendFor(id, i), ledger },
        { transport: network.endpoint(id.id), meter: opts.meter, verification: opts.verification, keys },
      ),
    )
  }
  coordinator.start()
  for (const n of nodes) n.start()
  return {
    network,
    coordinator,
    nodes,
    ask: (question, request = {}, options = {}) =>
      coordinator.ask(
        {
          messages: [{ role: 'user', content: question }],
          minMembers: Math.min(3, opts.nodes),
          maxMembers: opts.nodes,
          joinTarget: opts.nodes,
          ...request,
        },
        options,
      ),
    async stop() {
      await coordinator.stop()
      await Promise.all(nodes.map((n) => n.stop()))
    },
  }
}

function randomSeed(): Buffer {
  return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(32)))
}
