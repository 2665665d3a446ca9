import type { Envelope } from '../protocol/envelope.js'
import { SCORE_SCALE } from '../protocol/limits.js'
import type { PhaseTimes } from '../round/coordinator.js'
import type { RoundResult } from './swarm.js'

/**
 * The `chorus` extension field of a completion: where the answer came from, enough to check it.
 * Scores here are plain numbers for reading; the signed Result holds them in micro-units.
 */
/** `origin`: where the client reached this gateway (scheme and host), so the transcript's URL is absolute. */
export function provenance(r: RoundResult, roundMs: number, origin: string) {
  const o = r.outcome
  const judges = r.transcript.filter((m) => m.env.type === 'VerdictReveal').map((m) => m.env.from)
  const members = r.transcript.filter((m) => m.env.type === 'AnswerReveal').map((m) => (m.env as Envelope<'AnswerReveal'>).from)
  return {
    round: r.roundId,
    ranked: o.ranked,
    winner: o.winner,
    separated: o.separated,
    /** How the replies were read and grouped (the Query's answer type; null in rounds signed before answer types). */
    answer_type: (r.transcript[0]!.env as Envelope<'Query'>).body.answer?.type ?? null,
    answers: members.length,
    scores: o.scores.map((s) => ({
      node: s.node,
      score: s.score / SCORE_SCALE,
      strength: s.theta / SCORE_SCALE,
      lo: s.lo / SCORE_SCALE,
      hi: s.hi / SCORE_SCALE,
      support: s.support,
    })),
    judges,
    verdicts: o.verdictCount,
    abstentions: o.abstentions,
    /** Answers the judges' GOOD/BAD marks left out of the ranking as no genuine attempt (rules 4; their tickets are forfeit). */
    excluded: o.excluded,
    baselines: o.baselines,
    phases_ms: phaseSpans(r.times),
    round_ms: Math.round(roundMs * 1000) / 1000,
    /** The tokens of `usage`, by phase: the members' answers and the judges' verdicts, as each member signed its backend's counts. */
    usage: usageByPhase(r.transcript),
    /** What the request is charged for its tokens (micro-units, as a decimal string); "0" without a ledger. */
    charge_micro: r.price.toString(),
    /** The operator accounts the client restricted the round to (null: any operator's nodes). */
    operators: (r.transcript[0]!.env as Envelope<'Query'>).body.operators ?? null,
    /** Whether the Query broadcast only the prompt's hash and size, the prompt going to the seated members alone. */
    private: (r.transcript[0]!.env as Envelope<'Query'>).body.prompt !== undefined,
    /** Personal data replaced by placeholders before the Query was broadcast, by kind (none: null); the answer has it back. */
    redacted: r.redacted ?? null,
    transcript_root: r.result.env.body.root,
    transcript: `${origin}/v1/rounds/${r.roundId}`,
  }
}

export type Provenance = ReturnType<typeof provenance>

/** How long each phase of a round took by the coordinator's clock (null where it never got there). */
export function phaseSpans(t: PhaseTimes) {
  const span = (a?: number, b?: number) => (a !== undefined && b !== undefined ? b - a : null)
  return {
    join: span(t.issued, t.joining),
    answer: span(t.joining, t.committing),
    reveal: span(t.committing, t.revealing),
    judge: span(t.revealing, t.verdictCommitting),
    verdict_reveal: span(t.verdictCommitting, t.verdictRevealing),
    total: span(t.issued, t.done),
  }
}

function usageByPhase(transcript: RoundResult['transcript']) {
  const phase = () => ({ prompt_tokens: 0, completion_tokens: 0, messages: 0 })
  const by = { answering: phase(), judging: phase() }
  for (const m of transcript) {
    const p = m.env.type === 'AnswerReveal' ? by.answering : m.env.type === 'VerdictReveal' ? by.judging : undefined
    if (p === undefined) continue
    const t = (m.env.body as { usage: { prompt: number; completion: number } }).usage
    p.prompt_tokens += t.prompt
    p.completion_tokens += t.completion
    p.messages++
  }
  return by
}
