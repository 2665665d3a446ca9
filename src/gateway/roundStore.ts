import type { RoundResult } from './swarm.js'

/**
 * The most recent rounds this gateway ran, bounded by count and by bytes (oldest dropped first).
 * Each keeps its summary and its transcript already serialized: the store holds one string per
 * round, not the round's message objects, so what it costs is what it counts.
 */
export interface StoredRound {
  round: string
  question: string
  finishedAt: number
  roundMs: number
  ranked: boolean
  winner: string
  root: string
  /** The transcript file, as JSON text (`transcriptFile`). */
  transcript: string
}

export interface RoundStoreLimits {
  maxRounds: number
  maxBytes: number
}

export const DEFAULT_STORE_LIMITS: RoundStoreLimits = { maxRounds: 1000, maxBytes: 64 * 1024 * 1024 }

export class RoundStore {
  private readonly rounds = new Map<string, StoredRound>()
  private bytes = 0

  constructor(private readonly limits: RoundStoreLimits = DEFAULT_STORE_LIMITS) {}

  get size(): number {
    return this.rounds.size
  }

  /** Characters held (transcripts and questions): UTF-16, so about twice the bytes in memory. */
  get heldBytes(): number {
    return this.bytes
  }

  add(r: StoredRound): void {
    this.rounds.set(r.round, r)
    this.bytes += cost(r)
    while (this.rounds.size > this.limits.maxRounds || (this.bytes > this.limits.maxBytes && this.rounds.size > 1)) {
      const [id, oldest] = this.rounds.entries().next().value as [string, StoredRound]
      this.rounds.delete(id)
      this.bytes -= cost(oldest)
    }
  }

  get(id: string): StoredRound | undefined {
    return this.rounds.get(id)
  }

  recent(limit: number): StoredRound[] {
    return [...this.rounds.values()].slice(-limit).reverse()
  }
}

const cost = (r: StoredRound) => r.transcript.length + r.question.length

/** What the store keeps of a finished round. */
export function storedRound(result: RoundResult, question: string, roundMs: number, transcript: string, finishedAt: number): StoredRound {
  return {
    round: result.roundId,
    question: question.slice(0, 200),
    finishedAt,
    roundMs,
    ranked: result.outcome.ranked,
    winner: result.outcome.winner,
    root: result.result.env.body.root,
    transcript,
  }
}
