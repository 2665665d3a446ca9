import { SignatureVerifier } from '../crypto/identity.js'
import { type CryptoMeter, openEnvelope, type Signed } from '../protocol/envelope.js'
import { ProtocolError, type RejectionCode } from '../protocol/errors.js'
import { ReplayGuard } from '../protocol/replayGuard.js'

/**
 * The door every inbound message passes: size, schema, canonical form and signature
 * (`openEnvelope`), then replay suppression. What fails is counted by reason and dropped; nothing
 * unverified reaches a state machine, and no bad message can throw past here.
 */
export class MessageIntake {
  readonly rejections = new Map<RejectionCode, number>()
  private readonly verifier = new SignatureVerifier()
  private readonly replays = new ReplayGuard()

  constructor(private readonly meter?: CryptoMeter) {}

  open(data: Uint8Array): Signed | undefined {
    try {
      const msg = openEnvelope(data, this.verifier, this.meter)
      if (!this.replays.firstSeen(msg.env.round, msg.env.from, msg.env.seq))
        throw new ProtocolError('REPLAY', 'replayed message')
      return msg
    } catch (err) {
      this.reject(err)
      return undefined
    }
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
