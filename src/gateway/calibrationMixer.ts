import type { Identity } from '../crypto/identity.js'
import { signHiddenAsk, signHiddenReveal } from '../ledger/hiddenRounds.js'
import { LedgerError } from '../ledger/ledger.js'
import type { LedgerClient } from '../ledger/networkLedger.js'
import type { ChatMessage } from '../protocol/messages.js'
import type { AskOptions, NodeInfo, RoundResult, Swarm } from './swarm.js'

/**
 * Mixes hidden calibration rounds (ledger/hiddenRounds.ts) into a gateway's traffic: after a
 * client's request, with probability `rate`, and after a random delay (so timing is no tell), the
 * gateway asks the ledger for a known-answer question and runs it as an ordinary round through the
 * same swarm — same coordinator, terms, deadlines and size — then, once the round settled, tells the
 * ledger which round it was, and the ledger grades the round's judges on it. A ledger that does not
 * require calibration turns the mixer off at its first answer.
 */
export interface MixerOptions {
  identity: Identity
  client: Pick<LedgerClient, 'hiddenItem' | 'revealHiddenRound'>
  /** Hidden rounds per client request, 0 to 1. */
  rate: number
  /** The longest a hidden round waits after the request that drew it (ms; default 10 s). */
  maxDelayMs?: number
  random?: () => number
  now?: () => number
  onError?: (err: unknown) => void
}

/** The default rate: one hidden round for about every twenty client requests. */
export const DEFAULT_CALIBRATION_RATE = 0.05

export class CalibrationMixer implements Swarm {
  readonly minMembers: number
  readonly authorize?: Swarm['authorize']
  /** Hidden rounds run, graded, and lost (failed, unsettled, or refused). */
  readonly stats = { run: 0, graded: 0, lost: 0 }
  private off = false
  private rate: number
  /** The last ask's time: each is newer than the one before (the ledger takes no replayed ask). */
  private lastAsk = 0
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly running = new Set<Promise<void>>()

  constructor(
    private readonly inner: Swarm,
    private readonly opts: MixerOptions,
  ) {
    this.minMembers = inner.minMembers
    this.rate = opts.rate
    if (inner.authorize) this.authorize = (payer, signal) => inner.authorize!(payer, signal)
  }

  /** A new rate for the requests from now on (the calibration rate governance voted). */
  setRate(rate: number): void {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`a calibration rate is between 0 and 1, not ${rate}`)
    this.rate = rate
  }

  ask(messages: ChatMessage[], options: AskOptions): Promise<RoundResult> {
    this.maybeMix(options.private === true)
    return this.inner.ask(messages, options)
  }

  nodes(): NodeInfo[] | Promise<NodeInfo[]> {
    return this.inner.nodes()
  }

  rejections(): Map<string, number> {
    return this.inner.rejections()
  }

  /** `privately`: the hidden round broadcasts only its prompt's hash, as the request it hides among did. */
  private maybeMix(privately: boolean): void {
    const random = this.opts.random ?? Math.random
    if (this.off || random() >= this.rate) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      const run = this.runHidden(privately).catch((err: unknown) => {
        this.stats.lost++
        this.opts.onError?.(err)
      })
      this.running.add(run)
      void run.finally(() => this.running.delete(run))
    }, random() * (this.opts.maxDelayMs ?? 10_000))
    timer.unref()
    this.timers.add(timer)
  }

  private async runHidden(privately: boolean): Promise<void> {
    const now = this.opts.now ?? Date.now
    let item
    try {
      this.lastAsk = Math.max(now(), this.lastAsk + 1)
      item = await this.opts.client.hiddenItem(signHiddenAsk(this.opts.identity, this.lastAsk))
    } catch (err) {
      if (err instanceof LedgerError && err.code === 'NOT_REQUIRED') {
        this.off = true
        return
      }
      throw err
    }
    this.stats.run++
    const res = await this.inner.ask([{ role: 'user', content: item.question }], privately ? { private: true } : {})
    if ((await res.settlement) === undefined) throw new Error(`hidden round ${res.roundId.slice(0, 16)}… did not settle; its item stays unreported`)
    await this.opts.client.revealHiddenRound(signHiddenReveal(this.opts.identity, item.id, res.roundId))
    this.stats.graded++
  }

  /** No new hidden rounds; those running finish. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    await Promise.allSettled([...this.running])
  }
}
