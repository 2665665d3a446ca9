import type { Envelope, Signed } from '../protocol/envelope.js'
import { ProtocolError } from '../protocol/errors.js'

/**
 * A round's transcript as a file: every signed envelope in transcript order (Query, Joins, Members,
 * commits, CommitsSealed, reveals, RevealsSealed, verdict commits, VerdictCommitsSealed, verdict
 * reveals, VerdictsSealed, Result). The Result's root is the Merkle root of all envelopes before it.
 */
export const TRANSCRIPT_FORMAT = 'chorus/transcript/v1'

export interface TranscriptFile {
  format: typeof TRANSCRIPT_FORMAT
  round: string
  envelopes: Envelope[]
}

export function transcriptFile(messages: readonly Signed[]): TranscriptFile {
  return {
    format: TRANSCRIPT_FORMAT,
    round: messages[0]?.env.round ?? '',
    envelopes: messages.map((m) => m.env),
  }
}

/** Parses a transcript file's JSON text into its envelopes; `verifyTranscript` checks them. */
export function parseTranscript(text: string): unknown[] {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    throw new ProtocolError('MALFORMED', 'transcript is not JSON')
  }
  const file = raw as Partial<TranscriptFile> | null
  if (
    file === null ||
    typeof file !== 'object' ||
    file.format !== TRANSCRIPT_FORMAT ||
    !Array.isArray(file.envelopes)
  ) {
    throw new ProtocolError('MALFORMED', `not a ${TRANSCRIPT_FORMAT} file`)
  }
  return file.envelopes
}
