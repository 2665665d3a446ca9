/**
 * Peer scoring for point-to-point traffic (gossipsub scores its own topics). Each message a
 * receiver rejects as junk (bad signature, bad schema) adds a point against the peer that sent it;
 * points decay with a half-life, so an honest peer's rare glitch is forgotten. A peer that reaches
 * `limit` is banned for `banMs`: its connections are closed and it may not reconnect until then.
 */
export interface PenaltyOptions {
  limit: number
  halfLifeMs: number
  banMs: number
  now: () => number
}

export const DEFAULT_PENALTIES: Omit<PenaltyOptions, 'now'> = { limit: 20, halfLifeMs: 60_000, banMs: 300_000 }

/** Peers tracked at most; past it the quietest are forgotten (a stranger cannot grow the table). */
const MAX_PEERS = 4096

export class PeerPenalties {
  private readonly points = new Map<string, { value: number; at: number }>()
  private readonly bans = new Map<string, number>()

  constructor(private readonly opts: PenaltyOptions) {}

  /** Counts one rejected message from `peer`; true when this one gets it banned. */
  penalize(peer: string): boolean {
    const t = this.opts.now()
    const p = this.points.get(peer)
    const value = (p === undefined ? 0 : p.value * 0.5 ** ((t - p.at) / this.opts.halfLifeMs)) + 1
    this.points.delete(peer)
    if (value < this.opts.limit) {
      this.points.set(peer, { value, at: t })
      if (this.points.size > MAX_PEERS) this.points.delete(this.points.keys().next().value as string)
      return false
    }
    this.bans.set(peer, t + this.opts.banMs)
    if (this.bans.size > MAX_PEERS) this.bans.delete(this.bans.keys().next().value as string)
    return true
  }

  banned(peer: string): boolean {
    const until = this.bans.get(peer)
    if (until === undefined) return false
    if (this.opts.now() < until) return true
    this.bans.delete(peer)
    return false
  }
}
