import type { RoundResult } from './coordinatorService.js'

/** The most recent rounds this gateway ran, with their transcripts, bounded (oldest dropped). */
export interface StoredRound {
  result: RoundResult
  question: string
  finishedAt: number
  roundMs: number
}

export class RoundStore {
  private readonly rounds = new Map<string, StoredRound>()

  constructor(private readonly max = 1000) {}

  add(r: StoredRound): void {
    this.rounds.set(r.result.roundId, r)
    if (this.rounds.size > this.max) this.rounds.delete(this.rounds.keys().next().value as string)
  }

  get(id: string): StoredRound | undefined {
    return this.rounds.get(id)
  }

  recent(limit: number): StoredRound[] {
    return [...this.rounds.values()].slice(-limit).reverse()
  }
}
