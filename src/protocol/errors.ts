/**
 * Why a message was not accepted. `reject` means the sender misbehaved (bad signature, bad schema,
 * oversized) and should be penalised by peer scoring; `ignore` means the message is merely useless
 * here (a replay, late, for a round we are not in). Codes are stable: metrics and tests use them.
 */
export type RejectionAction = 'ignore' | 'reject'

export type RejectionCode =
  | 'OVERSIZED'
  | 'MALFORMED'
  | 'SCHEMA'
  | 'VERSION'
  | 'BAD_SIGNATURE'
  | 'REPLAY'
  | 'WRONG_ROUND'
  | 'WRONG_SENDER'
  | 'WRONG_PHASE'
  | 'NOT_MEMBER'
  | 'DUPLICATE'
  | 'BAD_ROUND_ID'
  | 'STALE_SEQUENCE'
  | 'COMMIT_MISMATCH'
  | 'BAD_SEAL'
  | 'BAD_VERDICTS'
  | 'BAD_TICKET'
  | 'BAD_QUERY'
  | 'EXPIRED'

/** Codes for messages that are merely late, repeated or not for us: no fault of the sender's. */
const IGNORED: ReadonlySet<RejectionCode> = new Set(['REPLAY', 'WRONG_ROUND', 'WRONG_PHASE', 'DUPLICATE', 'EXPIRED'])

export class ProtocolError extends Error {
  readonly action: RejectionAction
  constructor(
    readonly code: RejectionCode,
    message: string,
  ) {
    super(message)
    this.name = 'ProtocolError'
    this.action = IGNORED.has(code) ? 'ignore' : 'reject'
  }
}
