import type { LiveRound } from './web/wire.js'

/**
 * The rounds this gateway is running now, for the dashboard's live view: what was asked, the phase
 * each is in, and when it entered each phase. A round is known by a local number until the
 * coordinator names it (its first phase change). Bounded by the gateway's own admission limits,
 * since an entry lives only as long as its request.
 */

export class LiveRounds {
  private next = 1
  private readonly rounds = new Map<number, { round: LiveRound; owner: string | undefined }>()

  /**
   * A new entry, queued, asked by `owner` (the paying account; undefined on an open gateway or for
   * the operator); the returned functions record its phases and remove it.
   */
  open(question: string, now: number, owner?: string): { phase: (phase: string, at: number, round?: string) => void; close: () => void } {
    const id = this.next++
    const r: LiveRound = { id, round: null, question: question.slice(0, 200), started: now, phase: 'queued', phases: [{ phase: 'queued', at: now }] }
    this.rounds.set(id, { round: r, owner })
    return {
      phase: (phase, at, round) => {
        if (round !== undefined) r.round = round
        if (phase === r.phase) return
        r.phase = phase
        r.phases.push({ phase, at })
      },
      close: () => this.rounds.delete(id),
    }
  }

  /** The rounds `owner` may see: its own (undefined: every round, as the operator sees them). */
  list(owner?: string): LiveRound[] {
    return [...this.rounds.values()].filter((e) => owner === undefined || e.owner === owner).map((e) => e.round)
  }

  get size(): number {
    return this.rounds.size
  }
}
