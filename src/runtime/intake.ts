import { type PublicKeyCache, SignatureVerifier } from '../crypto/identity.js'
import { type CryptoMeter, openEnvelope, openEnvelopeAsync, type Signed } from '../protocol/envelope.js'
import { ProtocolError, type RejectionAction, type RejectionCode } from '../protocol/errors.js'

/**
 * The door every inbound message passes: size, schema, canonical form and signature
 * (`openEnvelope`). What fails is counted by reason and dropped; nothing unverified reaches a state
 * machine, and nothing a peer sends can throw past here. A bug in the code a message is handed to
 * is contained too: counted as a bug, reported, and never blamed on the peer.
 *
 * Signatures are checked on the thread pool by default ('pool'), several at once, but messages are
 * still handed on one at a time in arrival order. 'inline' checks them on the event loop (the
 * benchmarks use it to measure the time spent in cryptography). 'auto' checks a lone message inline
 * and hands a backlog to the pool: right for a process that runs one node or one gateway.
 *
 * Replays are not this door's business: a round accepts each (sender, seq) once (RoundHost), and
 * only what it accepted is remembered, so nobody can grow that memory by sending junk.
 */
export type Verification = 'pool' | 'inline' | 'auto'

export interface IntakeOptions {
  meter?: CryptoMeter
  /** Where signatures are checked: the thread pool (default) or inline on the event loop. */
  verification?: Verification
  /** A key cache shared with other nodes in this process. */
  keys?: PublicKeyCache
  /** Called with each bug contained here (an exception from the code a message was handed to). */
  onBug?: (err: unknown) => void
}

export class MessageIntake {
  readonly rejections = new Map<RejectionCode, number>()
  /** Exceptions contained from the code messages are handed to: bugs here, not peers' faults. */
  bugs = 0
  private readonly verifier: SignatureVerifier
  private readonly meter: CryptoMeter | undefined
  private readonly verification: Verification
  private readonly onBug: (err: unknown) => void
  /** Messages a gossip validator already verified, so the delivery that follows does not verify again. */
  private readonly screened = new WeakMap<Uint8Array, Signed>()
  private tail: Promise<void> = Promise.resolve()
  private pending = 0

  constructor(options: IntakeOptions = {}) {
    this.verifier = new SignatureVerifier(options.keys)
    this.meter = options.meter
    this.verification = options.verification ?? 'pool'
    this.onBug = options.onBug ?? (() => {})
  }

  /**
   * Verifies `data` and, if it passes, calls `deliver` with it, in the order messages were submitted.
   * `report` hears the action of any rejection, here or thrown by `deliver` (the transport's peer
   * scoring).
   */
  submit(data: Uint8Array, deliver: (msg: Signed) => void, report?: (action: RejectionAction) => void): void {
    const known = this.screened.get(data)
    // 'auto': a lone message is checked at once (a hop to the pool would only add latency); once
    // messages queue up, they go to the pool and use every core.
    if (this.pending === 0 && (known !== undefined || this.verification === 'inline' || this.verification === 'auto')) {
      const msg = known ?? this.open(data, report)
      if (msg !== undefined) this.handOn(msg, deliver, report)
      return
    }
    let verifying: Promise<Signed>
    try {
      verifying = known !== undefined ? Promise.resolve(known) : this.verifyLater(data)
    } catch (err) {
      this.reject(err, report)
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
        if ('msg' in r) this.handOn(r.msg, deliver, report)
        else this.reject(r.err, report)
      }),
    )
  }

  /**
   * Verifies a gossip message before the transport forwards it (a topic validator) and remembers
   * the result for its delivery. Rejects with the ProtocolError that says why it is invalid.
   */
  async screen(data: Uint8Array): Promise<Signed> {
    const msg = await this.verifyLater(data)
    this.screened.set(data, msg)
    return msg
  }

  /** Counts a rejection; anything that is not a protocol rejection is a bug here, counted apart. */
  reject(err: unknown, report?: (action: RejectionAction) => void): void {
    if (err instanceof ProtocolError) {
      this.rejections.set(err.code, (this.rejections.get(err.code) ?? 0) + 1)
      report?.(err.action)
    } else this.bug(err)
  }

  bug(err: unknown): void {
    this.bugs++
    this.onBug(err)
  }

  private open(data: Uint8Array, report?: (action: RejectionAction) => void): Signed | undefined {
    try {
      return openEnvelope(data, this.verifier, this.meter)
    } catch (err) {
      this.reject(err, report)
      return undefined
    }
  }

  private verifyLater(data: Uint8Array): Promise<Signed> {
    return this.verification === 'inline' ? Promise.resolve(openEnvelope(data, this.verifier, this.meter)) : openEnvelopeAsync(data, this.verifier, this.meter)
  }

  private handOn(msg: Signed, deliver: (msg: Signed) => void, report?: (action: RejectionAction) => void): void {
    try {
      deliver(msg)
    } catch (err) {
      this.reject(err, report)
    }
  }
}
