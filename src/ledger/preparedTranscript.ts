import { canonicalJson } from '../crypto/canonical.js'
import type { PublicKeyCache } from '../crypto/identity.js'
import type { Signed } from '../protocol/envelope.js'
import { openTranscript, TranscriptError } from '../round/verify.js'
import { LedgerError } from './ledger.js'

/**
 * A transcript whose signatures are already checked, on the thread pool, before it reaches the
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

  static async prepare(transcript: readonly unknown[], keys?: PublicKeyCache): Promise<PreparedTranscript> {
    if (!Array.isArray(transcript)) throw new LedgerError('INVALID_TRANSCRIPT', 'a transcript is a list of envelopes')
    const encoded = transcript.map((e) => canonicalJson(e))
    try {
      return new PreparedTranscript(transcript, encoded, await openTranscript(encoded, keys))
    } catch (err) {
      if (err instanceof TranscriptError) throw new LedgerError('INVALID_TRANSCRIPT', err.message)
      throw err
    }
  }
}
