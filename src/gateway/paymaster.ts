import type { Identity } from '../crypto/identity.js'
import type { Micro } from '../ledger/amount.js'
import { signCharge } from '../ledger/charge.js'
import { LedgerUnreachableError } from '../ledger/httpLedgerClient.js'
import { LedgerError, type SettlementReceipt } from '../ledger/ledger.js'
import { DEFAULT_TICKET_OF_FEE_BP } from '../ledger/settlement.js'
import type { CachedLedger, LedgerClient } from '../ledger/networkLedger.js'
import type { Signed } from '../protocol/envelope.js'
import type { QueryBody, TokenCount } from '../protocol/messages.js'
import type { OwedSettlement, SettlementOutbox } from './settlementOutbox.js'
import { RoundFailedError } from './swarm.js'

/**
 * The gateway's side of the ledger. It sets the terms its Queries offer (fee, ticket); keeps the
 * fees of its unfinished rounds within its deposit (so it cannot promise nodes more than it holds,
 * and a Query beyond it is refused here before nodes refuse it); refuses a request whose payer
 * cannot cover the hold (402, before any work); and after each round prices the tokens its members
 * reported, signs the charge and has the ledger settle the round with it. With an outbox, what it
 * owes the ledger survives a crash or a long ledger outage and is sent again.
 */
export interface Pricing {
  /** Micro-units per 1 000 tokens, prompt and completion alike, over every answer and judgement. */
  microPerKToken: Micro
  /** What a payer must have free before a request starts (the most one request is expected to cost). */
  holdMicro: Micro
  /** The gateway's cut of each charge, in basis points; the rest joins the round's reward pool. */
  cutBp: number
}

export interface RoundTerms {
  fee: Micro
  ticket: Micro
}

export const DEFAULT_PRICING: Pricing = { microPerKToken: 2_000n, holdMicro: 100_000n, cutBp: 1_000 }
export const DEFAULT_TERMS: RoundTerms = { fee: 10_000n, ticket: (10_000n * DEFAULT_TICKET_OF_FEE_BP) / 10_000n }

/** The tokens every sealed answer and verdict reveal of a transcript reports. */
export function usageOf(transcript: readonly Signed[]): TokenCount {
  const u = { prompt: 0, completion: 0 }
  for (const m of transcript) {
    if (m.env.type !== 'AnswerReveal' && m.env.type !== 'VerdictReveal') continue
    const t = (m.env.body as { usage: TokenCount }).usage
    u.prompt += t.prompt
    u.completion += t.completion
  }
  return u
}

export function priceOf(u: TokenCount, pricing: Pricing): Micro {
  const tokens = BigInt(u.prompt + u.completion)
  return (tokens * pricing.microPerKToken + 999n) / 1_000n
}

export class PaymentRequiredError extends Error {
  readonly code = 'PAYMENT_REQUIRED'
  constructor(message: string) {
    super(message)
    this.name = 'PaymentRequiredError'
  }
}

export interface PaymasterInit {
  identity: Identity
  ledger: CachedLedger
  client: LedgerClient
  terms?: RoundTerms
  pricing?: Pricing
  /** Told about a settlement the ledger refused or could not take (logged; the round's answer stands). */
  onError?: (err: unknown) => void
  /** Waits before each retry of a settlement the ledger could not take (default 0.5, 1, 2, 4, 8, 16 s). */
  retryDelaysMs?: readonly number[]
  /**
   * Where owed settlements wait (on disk) until the ledger takes them; without one, a settlement
   * the ledger cannot take within the retries is lost (fine for a ledger in this process).
   */
  outbox?: SettlementOutbox
  /** How often owed settlements the retries gave up on are sent again (default a minute). */
  resendEveryMs?: number
  now?: () => number
}

export class Paymaster {
  private current: RoundTerms
  readonly pricing: Pricing
  /** Fees promised by rounds not yet settled. */
  private promised = 0n
  /** What each payer's running requests may still cost. */
  private readonly holds = new Map<string, Micro>()
  private settled = 0
  private failed = 0
  /** For metrics: rounds settled, and settlements the ledger refused for good (or that were lost without an outbox). */
  get results(): ReadonlyMap<string, number> {
    return new Map([
      ['settled', this.settled],
      ['failed', this.failed],
    ])
  }

  /** Settlements waiting in the outbox for the ledger. */
  get owed(): number {
    return this.init.outbox?.size ?? 0
  }
  /** Settlements in flight (`drain` waits for them), by round. */
  private readonly running = new Map<string, Promise<unknown>>()
  private resendTimer: NodeJS.Timeout | undefined

  private readonly retries: readonly number[]
  private readonly stopping = new AbortController()

  constructor(private readonly init: PaymasterInit) {
    this.current = init.terms ?? DEFAULT_TERMS
    this.pricing = init.pricing ?? DEFAULT_PRICING
    this.retries = init.retryDelaysMs ?? [500, 1_000, 2_000, 4_000, 8_000, 16_000]
  }

  get id(): string {
    return this.init.identity.id
  }

  /** The terms the next Query offers. */
  get terms(): RoundTerms {
    return this.current
  }

  /** New terms for rounds from now on (parameters voted on the chain); rounds open keep theirs. */
  setTerms(terms: RoundTerms): void {
    this.current = terms
  }

  /** Promises one more round's fee; the returned function takes the promise back. */
  open(): () => void {
    const deposit = this.init.ledger.latest().deposit(this.id)
    if (deposit === undefined) throw new RoundFailedError('NO_DEPOSIT', `this gateway (${this.id.slice(0, 16)}…) is not registered on the ledger: chorus ledger register --kind gateway`)
    const fee = this.terms.fee
    if (this.promised + fee > deposit) throw new RoundFailedError('NO_DEPOSIT', `this gateway's deposit (${deposit} micro-units) covers no more unfinished rounds at a fee of ${fee}: chorus ledger stake`)
    this.promised += fee
    let open = true
    return () => {
      if (open) this.promised -= fee
      open = false
    }
  }

  /**
   * Holds the most a request may cost against its payer, or refuses it (402) when the payer's
   * balance, or what it allowed this gateway, cannot cover it. The gateway's own account (an open
   * gateway meters itself) is never refused. Returns the release.
   */
  async authorize(payer: string, signal?: AbortSignal): Promise<() => void> {
    if (payer === this.id) return () => {}
    const opts = signal ? { signal } : {}
    const [account, allowed] = await Promise.all([this.init.client.account(payer, opts), this.init.client.allowance(payer, this.id, opts)])
    if (account === undefined) throw new PaymentRequiredError(`the account ${payer.slice(0, 16)}… this API key pays from is not on the ledger`)
    const free = (account.balance < allowed ? account.balance : allowed) - (this.holds.get(payer) ?? 0n)
    const hold = this.pricing.holdMicro
    if (free < hold) {
      throw new PaymentRequiredError(
        `insufficient balance: a request needs ${hold} micro-units free; the account has ${account.balance} and allows this gateway ${allowed} (${this.holds.get(payer) ?? 0n} held by running requests)`,
      )
    }
    this.holds.set(payer, (this.holds.get(payer) ?? 0n) + hold)
    let held = true
    return () => {
      if (!held) return
      held = false
      const left = (this.holds.get(payer) ?? 0n) - hold
      if (left > 0n) this.holds.set(payer, left)
      else this.holds.delete(payer)
    }
  }

  /**
   * Sends what earlier runs still owe the ledger (their fees count against the deposit until
   * settled), then keeps sending whatever the retries give up on, every `resendEveryMs`. Returns
   * how many were owed.
   */
  resume(): number {
    const outbox = this.init.outbox
    if (outbox === undefined) return 0
    const owed = outbox.owed(Number.MAX_SAFE_INTEGER, (round, reason) => this.init.onError?.(new Error(`dropped the owed settlement of round ${round.slice(0, 16)}…: ${reason}`)))
    for (const o of owed) this.resend(o)
    this.resendTimer = setInterval(() => {
      // A bounded batch per sweep: a long outage can leave thousands owed.
      for (const o of outbox.owed(100, undefined, (round) => this.running.has(round))) this.resend(o)
    }, this.init.resendEveryMs ?? 60_000)
    this.resendTimer.unref()
    return owed.length
  }

  /**
   * Before the gateway (or its ledger) closes: settlements still in flight finish, but one waiting
   * to retry an unreachable ledger gives up now instead of holding the shutdown (with an outbox, it
   * stays owed for the next run).
   */
  async drain(): Promise<void> {
    this.stopping.abort()
    clearInterval(this.resendTimer)
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()])
  }

  /**
   * Settles a finished round, charging its payer `amount` (`priceOf` the tokens its members
   * reported). The debt is on disk (with an outbox) before this returns, that is before the
   * round's answer goes out.
   */
  settle(roundId: string, transcript: readonly Signed[], payer: string, amount: Micro): Promise<SettlementReceipt | undefined> {
    const charge = signCharge(this.init.identity, roundId, { account: payer, amount: amount.toString(), cutBp: this.pricing.cutBp })
    const owed: OwedSettlement = { round: roundId, transcript, charge, fee: BigInt((transcript[0]!.env.body as QueryBody).fee) }
    try {
      this.init.outbox?.put(owed, (this.init.now ?? Date.now)())
    } catch (err) {
      // A full or broken disk must not cost the client its answer; it costs this round its record.
      this.init.onError?.(err)
    }
    // Sent on the next turn of the event loop: the round's answer goes to its client first.
    return this.track(roundId, new Promise<void>((r) => setImmediate(r)).then(() => this.deliver(owed)))
  }

  private resend(o: OwedSettlement): void {
    this.promised += o.fee
    void this.track(o.round, this.deliver(o)).finally(() => (this.promised -= o.fee))
  }

  private track<T>(round: string, p: Promise<T>): Promise<T> {
    this.running.set(round, p)
    void p.finally(() => this.running.delete(round))
    return p
  }

  /**
   * A ledger that cannot be reached is tried again, with backoff, for about half a minute (a served
   * ledger restarting loses no settlement), then left owed; one that refuses (the transcript does
   * not verify) is not. A round the ledger already has was settled: an earlier attempt got through
   * and only its answer was lost.
   */
  private async deliver(o: OwedSettlement): Promise<SettlementReceipt | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        const receipt = await this.init.client.settle(o.transcript, o.charge)
        this.paid(o)
        await this.init.ledger.refresh().catch(() => {})
        return receipt
      } catch (err) {
        if (err instanceof LedgerError && err.code === 'ALREADY_SETTLED') {
          this.paid(o)
          return undefined
        }
        const unreachable = err instanceof LedgerUnreachableError
        if (unreachable && attempt < this.retries.length && !this.stopping.signal.aborted) {
          await sleep(this.retries[attempt]!, this.stopping.signal)
          continue
        }
        if (!unreachable || this.init.outbox === undefined) {
          this.failed++
          this.init.outbox?.remove(o.round)
        }
        this.init.onError?.(err)
        return undefined
      }
    }
  }

  private paid(o: OwedSettlement): void {
    this.settled++
    this.init.outbox?.remove(o.round)
  }
}

/** Waits `ms`, or less if `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}
