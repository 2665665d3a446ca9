import { hashParts } from '../crypto/hash.js'
import { type Identity, identityFromSeed, PublicKeyCache } from '../crypto/identity.js'
import { type AskRequest, CoordinatorService } from '../gateway/coordinatorService.js'
import { type AskOptions, requestTags, type RoundResult } from '../gateway/swarm.js'
import type { Swarm } from '../gateway/swarm.js'
import { withStanding } from '../gateway/nodeStanding.js'
import type { ModelBackend } from '../models/backend.js'
import type { ChatMessage } from '../protocol/messages.js'
import type { NodeTools } from '../node/tools/nodeTools.js'
import { NodeDaemon } from '../node/nodeDaemon.js'
import type { ParticipationLimits } from '../node/participation.js'
import type { CryptoMeter } from '../protocol/envelope.js'
import { MIN_MEMBERS } from '../protocol/limits.js'
import type { PhaseDurations } from '../round/coordinator.js'
import { fixedLedger, type LedgerClient, type NetworkLedger } from '../ledger/networkLedger.js'
import type { Paymaster } from '../gateway/paymaster.js'
import { ledgerBeacons } from '../ledger/beaconRequest.js'
import { genesisLedgerView } from '../round/ledgerView.js'
import type { Verification } from '../runtime/intake.js'
import { MemoryNetwork, type MemoryNetworkOptions } from '../transport/memory.js'

/**
 * Composition root for a whole swarm in one process: a coordinator and N nodes over the in-memory
 * transport. `chorus demo`, tests and benchmarks build on it.
 */
export interface EmbeddedSwarmOptions {
  nodes: number
  backendFor: (identity: Identity, index: number) => ModelBackend
  /** The network's ledger (default: the genesis view, nobody pays). */
  ledger?: NetworkLedger
  /** With a ledger: the coordinator's terms, deposit bound and settlement. */
  paymaster?: Paymaster
  /** With a ledger: where /v1/nodes reads each node's stake and balance. */
  client?: LedgerClient
  /** The coordinator's and nodes' keys (default: from `keySeed`, or random). */
  identities?: { coordinator: Identity; node: (i: number) => Identity }
  network?: MemoryNetworkOptions
  durations?: Partial<PhaseDurations>
  /** Deterministic identities derived from this label (tests, benchmarks); random otherwise. */
  keySeed?: string
  meter?: CryptoMeter
  /**
   * Where signatures are checked (default 'auto', as the node and gateway processes do: a lone
   * message on the calling thread with libsodium, a backlog on the thread pool).
   */
  verification?: Verification
  /** Each node's participation limits (defaults: node/participation.ts). */
  limits?: Partial<ParticipationLimits>
  /** The tools node i runs around its model (node/tools; `--tools`); none: none. */
  toolsFor?: (index: number) => NodeTools | undefined
  /** Whether the nodes' judges run the GOOD/BAD prefilter (default on; off for tiny models). */
  prefilter?: boolean
  onBug?: (err: unknown) => void
}

export interface EmbeddedSwarm {
  network: MemoryNetwork
  coordinator: CoordinatorService
  nodes: NodeDaemon[]
  /** One round on a question (a user message) or a whole conversation. */
  ask(question: string | ChatMessage[], request?: Partial<AskRequest>, options?: AskOptions): Promise<RoundResult>
  /** Exceptions contained in this process's message handlers (bugs, not peers' faults). */
  bugs(): number
  /** The swarm as the HTTP gateway sees it; `names` label the nodes' backends. */
  port(names?: readonly string[]): Swarm
  stop(): Promise<void>
}

export function createEmbeddedSwarm(opts: EmbeddedSwarmOptions): EmbeddedSwarm {
  const ledger = opts.ledger ?? fixedLedger(genesisLedgerView())
  const verification = opts.verification ?? 'auto'
  const network = new MemoryNetwork(opts.network)
  // One process, one key cache: parsing a peer's key once serves every hosted node.
  const keys = new PublicKeyCache()
  const identity = (i: number) =>
    opts.identities !== undefined
      ? i < 0
        ? opts.identities.coordinator
        : opts.identities.node(i)
      : opts.keySeed === undefined
        ? undefined
        : identityFromSeed(Buffer.from(hashParts('test-key', opts.keySeed, String(i)), 'hex'))
  const coordIdentity = identity(-1) ?? identityFromSeed(randomSeed())
  const coordinator = new CoordinatorService(
    { identity: coordIdentity, ledger, durations: opts.durations },
    {
      transport: network.endpoint(coordIdentity.id),
      meter: opts.meter,
      verification,
      keys,
      onBug: opts.onBug,
      ...(opts.paymaster ? { paymaster: opts.paymaster } : {}),
      // With its ledger at hand, the coordinator runs rounds keyed by the ledger's beacons.
      ...(opts.client ? { beacons: ledgerBeacons(opts.client, coordIdentity) } : {}),
    },
  )
  const nodes: NodeDaemon[] = []
  for (let i = 0; i < opts.nodes; i++) {
    const id = identity(i) ?? identityFromSeed(randomSeed())
    nodes.push(
      new NodeDaemon(
        { identity: id, backend: opts.backendFor(id, i), ledger, ...(opts.limits ? { limits: opts.limits } : {}), ...toolsOf(opts.toolsFor?.(i)), ...(opts.prefilter === undefined ? {} : { prefilter: opts.prefilter }) },
        { transport: network.endpoint(id.id), meter: opts.meter, verification, keys, onBug: opts.onBug },
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
          messages: typeof question === 'string' ? [{ role: 'user', content: question }] : question,
          minMembers: MIN_MEMBERS,
          maxMembers: Math.max(MIN_MEMBERS, opts.nodes),
          joinTarget: Math.max(1, opts.nodes),
          ...request,
        },
        options,
      ),
    bugs: () => coordinator.intake.bugs + nodes.reduce((n, d) => n + d.intake.bugs, 0),
    port(names = []) {
      return {
        minMembers: MIN_MEMBERS,
        ask: (messages, options) => this.ask(messages, requestTags(options), options),
        ...(opts.paymaster ? { authorize: (payer: string | undefined, signal?: AbortSignal) => opts.paymaster!.authorize(payer ?? opts.paymaster!.id, signal) } : {}),
        nodes: async () => {
          const infos = nodes.map((n, i) => ({ id: n.id, backend: names[i], activeRounds: n.activeRounds, capacity: n.limits.capacity, declined: Object.fromEntries(n.declined) }))
          return opts.client === undefined ? infos : withStanding(infos, ledger, opts.client)
        },
        rejections() {
          const total = new Map<string, number>()
          for (const intake of [coordinator.intake, ...nodes.map((n) => n.intake)]) {
            for (const [code, k] of intake.rejections) total.set(code, (total.get(code) ?? 0) + k)
          }
          return total
        },
      }
    },
    async stop() {
      await coordinator.stop()
      await Promise.all(nodes.map((n) => n.stop()))
    },
  }
}

function randomSeed(): Buffer {
  return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(32)))
}

const toolsOf = (tools: NodeTools | undefined) => (tools === undefined ? {} : { tools })
