/**
 * The shapes the dashboard's JSON carries, shared by the gateway that computes them and the page
 * that shows them. Types only: nothing here runs, so both sides compile it (Node and browser).
 */

/**
 * A round as the round page shows it, read from its signed transcript alone (roundView.ts): the
 * question, every answer with its score and interval, the comparison graph, every verdict, and how
 * long each phase took by the coordinator's seals (scores are the signed Result's micro-units,
 * divided for reading).
 */
export interface RoundView {
  round: string
  coordinator: string
  question: string
  asked_at: number
  rules: number
  fee_micro: string
  ticket_micro: string
  domains: string[]
  answer_type: string | null
  joined: string[]
  ranked: boolean
  winner: string
  separated: boolean
  transcript_root: string
  /**
   * Best first, as the Result ranks them (unscored answers of an unranked round by node id), each
   * scored with its group's support; `group` names the best-ranked answer equivalent to it (its
   * own id when it is that answer), by the reading the Query signed.
   */
  answers: { node: string; text: string; group: string; score: number | null; lo: number | null; hi: number | null; support: number | null; tokens: number; marked: number; seen: number }[]
  /** Each compared pair once (a < b by node id), with its judgements: wins each way and ties. */
  pairs: { a: string; b: string; a_wins: number; b_wins: number; ties: number; abstained: number }[]
  /**
   * `marks`: the GOOD/BAD prefilter's marks as the verdict signed them (1: the first answer is no
   * genuine attempt, 2: the second, 3: both; null: none). An answer's `marked` counts the judges
   * that marked it in most of their verdicts on it, of the `seen` judges that compared it.
   */
  /** `evidence`: what the judge's tools found on the pair, as the verdict signed it (node/tools), or null. */
  /** Whether the Query broadcast only the prompt's hash (the seated members alone were sent the prompt). */
  private: boolean
  /** The operator accounts the client restricted the round to (null: any). */
  operators: string[] | null
  verdicts: { judge: string; first: string; second: string; verdict: 'A' | 'B' | 'T' | 'U'; p_first: number | null; evidence: number[] | null; marks: number | null }[]
  /** Milliseconds from the Query to each seal; null where the round has no such seal. */
  phases_ms: { join: number | null; answer: number | null; reveal: number | null; judge: number | null; verdict_reveal: number | null; total: number | null }
}

/** A round's page: its view, and what the gateway knows beyond the transcript. */
export interface RoundPage extends RoundView {
  finished_at: number
  round_ms: number
  charge_micro: string
  /** Personal data the gateway replaced before broadcasting the Query, by kind (--redact), or null. */
  redacted: Partial<Record<string, number>> | null
  /** The ledger's settlement (micro-units as decimal strings), once it arrived. */
  settlement: { seq: number; pool: string; charged: string; rewards: Record<string, string>; forfeits: Record<string, string> } | null
}

/** A round running now (liveRounds.ts). */
export interface LiveRound {
  id: number
  round: string | null
  question: string
  started: number
  phase: string
  /** When the round entered each phase, in ms since the epoch (in order of entry). */
  phases: { phase: string; at: number }[]
}
