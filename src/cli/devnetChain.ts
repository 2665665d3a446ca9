import { parseEther } from 'viem'
import { signBytes } from '../crypto/identity.js'
import type { Identity } from '../crypto/identity.js'
import { genesisBase } from '../ledger/evm/batch.js'
import { Governance } from '../ledger/evm/governance.js'
import { anvilEngine, type LocalEngine } from '../ledger/evm/localEngines.js'
import { Rollup } from '../ledger/evm/rollup.js'
import { proposalFile } from '../ledger/evm/proposal.js'
import { type AnchorTurn, Sequencer } from '../ledger/evm/sequencer.js'
import type { SqliteLedger } from '../ledger/sqliteLedger.js'

/**
 * `chorus devnet --ledger evm`: the devnet's ledger sequences a rollup on anvil (127.0.0.1, a
 * fresh chain each start): the rollup and governance are deployed at the ledger's head, three
 * verifiers bound to the devnet's first nodes are bonded, and every `anchorMs` the sequencer
 * credits deposits, finalizes batches whose short window is over, and posts the next batch, signed
 * by two of the verifiers after their own replay of the log.
 */
export interface DevnetChainOptions {
  anchorMs?: number
  /** Where each posted batch's body is published (proposal.ts; beside the ledger file). */
  publishTo?: string
  challengeWindowS?: number
  onTurn?: (turn: AnchorTurn) => void
  onError?: (err: Error) => void
}

const VERIFIERS = 3
const THRESHOLD = 2

export class DevnetChain {
  private timer: NodeJS.Timeout | undefined
  private turn: Promise<void> = Promise.resolve()
  private stopped = false

  private constructor(
    readonly engine: LocalEngine,
    readonly rollup: Rollup,
    readonly governance: Governance,
    private readonly sequencer: Sequencer,
    private readonly verifiers: Awaited<ReturnType<LocalEngine['account']>>[],
  ) {}

  static async start(ledger: SqliteLedger, verifierNodes: readonly Identity[], opts: DevnetChainOptions = {}): Promise<DevnetChain> {
    const engine = await anvilEngine({ blockTimeS: 1 })
    try {
      const sequencerKey = await engine.account('devnet/sequencer')
      const wallet = engine.wallet(sequencerKey)
      const base = genesisBase(ledger)
      const rollup = await Rollup.deploy({ sequencer: sequencerKey.address, threshold: THRESHOLD, minVerifierBond: parseEther('1'), challengeWindowS: opts.challengeWindowS ?? 2, disputeBond: parseEther('0.1'), genesisStateRoot: base.stateRoot, genesisBeacon: base.beacon }, engine.publicClient, wallet)
      const governance = await Governance.deploy({ votingPeriodS: 60, timelockS: 60, quorumBp: 4_000, initial: {} }, engine.publicClient, wallet)
      const verifiers = []
      for (let i = 0; i < Math.min(VERIFIERS, verifierNodes.length); i++) {
        const v = await engine.account(`devnet/verifier-${i}`)
        const node = verifierNodes[i]!
        await rollup.as(engine.wallet(v)).registerVerifier(node.id, `0x${signBytes(node, Buffer.from(`chorus/evm-verifier\n${v.address}`))}`, parseEther('1'))
        verifiers.push(v)
      }
      const chain = new DevnetChain(engine, rollup, governance, new Sequencer(ledger, rollup, base.seq, governance), verifiers)
      chain.schedule(opts)
      return chain
    } catch (err) {
      await engine.close()
      throw err
    }
  }

  private schedule(opts: DevnetChainOptions): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.turn = this.sequencer
        .anchor(this.verifiers.slice(0, THRESHOLD), `${this.engine.rpcUrl}#devnet`, opts.publishTo === undefined ? undefined : proposalFile(opts.publishTo))
        .then((t) => opts.onTurn?.(t))
        .catch((err: Error) => opts.onError?.(err))
        .finally(() => this.schedule(opts))
    }, opts.anchorMs ?? 2_000)
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.turn
    this.sequencer.close()
    await this.engine.close()
  }
}
