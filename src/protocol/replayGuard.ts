/**
 * Remembers (round, sender, seq) triples already accepted so a replayed message is ignored. Bounded:
 * when full, the oldest rounds are forgotten first (their messages are useless by then anyway).
 */
export class ReplayGuard {
  private readonly rounds = new Map<string, Set<string>>()

  constructor(private readonly maxRounds = 1024) {}

  /** True the first time a triple is seen; false for a replay. */
  firstSeen(round: string, from: string, seq: number): boolean {
    let seen = this.rounds.get(round)
    if (seen === undefined) {
      if (this.rounds.size >= this.maxRounds) this.rounds.delete(this.rounds.keys().next().value as string)
      seen = new Set()
      this.rounds.set(round, seen)
    }
    const key = `${from}:${seq}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  }

  forget(round: string): void {
    this.rounds.delete(round)
  }
}
