import { CanonicalEncodingError, canonicalJson } from '../crypto/canonical.js'
import type { Signed } from '../protocol/envelope.js'
import type { EnvelopeOpenerPool } from '../protocol/openerPool.js'
import { LedgerError } from './ledger.js'

/**
 * A transcript whose signatures are already checked, on worker threads, before it reaches the
 * ledger's single writer: settlements pipeline (many verify at once on every core, one applies at
 * a time) instead of queueing whole behind each other. Made only by `prepare`, so what the writer
 * is handed is exactly the envelopes that were checked; the writer still checks everything else
 * (seals, commitments, selection, the outcome) inside its transaction, and a replay of the log
 * checks the signatures again.
 */
export class PreparedTranscript {
  private constructor(
    readonly envelopes: readonly unknown[],
    readonly encoded: readonly string[],
    readonly opened: readonly Signed[],
  ) {}

  /**
   * Messages this process verified when they arrived (or signed itself): a coordinator settling in
   * its own process hands over its transcript as it holds it, and the ledger does not check those
   * signatures a second time. Their wire bytes are their canonical form. Anyone replaying the log
   * checks them again.
   */
  static fromVerified(msgs: readonly Signed[]): PreparedTranscript {
    return new PreparedTranscript(
      msgs.map((m) => m.env),
      msgs.map((m) => m.wire.toString('utf8')),
      msgs,
    )
  }

  static async prepare(transcript: readonly unknown[], opener: EnvelopeOpenerPool): Promise<PreparedTranscript> {
    const encoded = encodeTranscript(transcript)
    const opened = await opener.open(encoded)
    if (!Array.isArray(opened)) throw new LedgerError('INVALID_TRANSCRIPT', `message ${opened.index}: ${opened.error.message}`)
    return new PreparedTranscript(transcript, encoded, opened)
  }
}

/** Each envelope of a transcript as canonical JSON; a value JSON cannot carry canonically is refused. */
export function encodeTranscript(transcript: unknown): string[] {
  if (!Array.isArray(transcript)) throw new LedgerError('INVALID_TRANSCRIPT', 'a transcript is a list of envelopes')
  return transcript.map((e, i) => {
    try {
      return canonicalJson(e)
    } catch (err) {
      if (err instanceof CanonicalEncodingError) throw new LedgerError('INVALID_TRANSCRIPT', `message ${i}: ${err.message}`)
      throw err
    }
  })
}
