import { type PublicKeyCache, SignatureVerifier } from '../crypto/identity.js'
import { type CryptoMeter, openEnvelope, openEnvelopeAsync, type Signed } from '../protocol/envelope.js'
import { ProtocolError, type RejectionCode } from '../protocol/errors.js'
import { ReplayGuard } from '../protocol/replayGuard.js'

/**
 * The door every inbound message passes: size, schema, canonical form and signature
 * (`openEnvelope`), then replay suppression. What fails is counted by reason and dropped; nothing
 * unverified reaches a state machine, and no bad message can throw past here.
 *
 * Signatures are checked on the thread pool by default ('pool'), several at once, but messages are
 * still handed on one at a time in arrival order. 'inline' checks them on the event loop (the
 * benchmarks use it to measure the time spent in cryptography). 'auto' checks a lone message inline
 * and hands a backlog to the pool: right for a process that runs one node or one gateway.
 */
export type Verification = 'pool' | 'inline' | 'auto'

export interface IntakeOptions {
  meter?: CryptoMeter
  /** Where signatures are checked: the thread pool (default) or inline on the event loop. */
  verification?: Verification
  /** A key cache shared with other nodes in this process. */
  keys?: PublicKeyCache
}

export class MessageIntake {
  readonly rejections = new Map<RejectionCode, number>()
  private readonly verifier: SignatureVerifier
  private readonly replays = new ReplayGuard()
  private readonly meter: CryptoMeter | undefined
  private readonly verification: Verification
  private tail: Promise<void> = Promise.resolve()
  private pending = 0

  constructor(options: IntakeOptions = {}) {
    this.verifier = new SignatureVerifier(options.keys)
    this.meter = options.meter
    this.verification = options.verification ?? 'pool'
  }

  /** Verifies `data` and, if it passes, calls `deliver` with it, in the order messages were submitted. */
  submit(data: Uint8Array, deliver: (msg: Signed) => void): void {
    // 'auto': a lone message is checked at once (a hop to the pool would only add latency); once
    // messages queue up, they go to the pool and use every core.
    if ((this.verification === 'inline' || this.verification === 'auto') && this.pending === 0) {
      const msg = this.open(data)
      if (msg !== undefined) deliver(msg)
      return
    }
    let verifying: Promise<Signed>
    try {
      verifying = this.verification === 'inline' ? Promise.resolve(openEnvelope(data, this.verifier, this.meter)) : openEnvelopeAsync(data, this.verifier, this.meter)
    } catch (err) {
      this.reject(err)
      return
    }
    this.pending++
    // Settle at once: a rejection left waiting for the queue to reach it would count as unhandled.
    const settled = verifying.then(
      (msg) => ({ msg }),
      (err: unknown) => ({ err }),
    )
    this.tail = this.tail.then(() =>
      settled.then((r) => {
        this.pending--
        if ('msg' in r) {
          if (this.fresh(r.msg)) deliver(r.msg)
        } else this.reject(r.err)
      }),
    )
    // A bug (not a rejection) must not wedge the queue: surface it, keep delivering.
    this.tail = this.tail.catch((err) =>
      queueMicrotask(() => {
        throw err
      }),
    )
  }

  /** Synchronous verification of one message (tools and tests). */
  open(data: Uint8Array): Signed | undefined {
    try {
      const msg = openEnvelope(data, this.verifier, this.meter)
      return this.fresh(msg) ? msg : undefined
    } catch (err) {
      this.reject(err)
      return undefined
    }
  }

  private fresh(msg: Signed): boolean {
    if (this.replays.firstSeen(msg.env.round, msg.env.from, msg.env.seq)) return true
    this.reject(new ProtocolError('REPLAY', 'replayed message'))
    return false
  }

  /** Counts a rejection; rethrows anything that is not a protocol rejection (a bug, not bad input). */
  reject(err: unknown): void {
    if (!(err instanceof ProtocolError)) throw err
    this.rejections.set(err.code, (this.rejections.get(err.code) ?? 0) + 1)
  }

  forgetRound(round: string): void {
    this.replays.forget(round)
  }
}
