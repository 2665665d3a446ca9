import type { SettlementReceipt } from '../ledger/ledger.js'
import type { Envelope } from '../protocol/envelope.js'
import { phaseSpans } from './provenance.js'
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
  /** Who asked (the paying account, or the API key's label); undefined on an open gateway. */
  owner?: string
  /** Milliseconds per phase by the coordinator's clock (provenance.ts). */
  phases: ReturnType<typeof phaseSpans>
  answers: number
  /** The Query's fee and ticket, and what the request was charged (micro-units, decimal strings). */
  feeMicro: string
  ticketMicro: string
  chargeMicro: string
  /** Personal data replaced before the Query was broadcast, by kind (--redact). */
  redacted?: Partial<Record<string, number>>
  /** The ledger's settlement of the round, once it has arrived (set in place). */
  settlement?: SettledRound
}

/** What the ledger paid and took in a round (micro-units as decimal strings, per account or node). */
export interface SettledRound {
  seq: number
  pool: string
  charged: string
  rewards: Record<string, string>
  forfeits: Record<string, string>
}

export function settledRound(r: SettlementReceipt): SettledRound {
  const strings = (m: Record<string, bigint>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.toString()]))
  return { seq: r.seq, pool: r.pool.toString(), charged: r.charged.toString(), rewards: strings(r.rewards), forfeits: strings(r.forfeits) }
}

export interface RoundStoreLimits {
  maxRounds: number
  maxBytes: number
  /** How long a round (with its prompt) is kept at most; undefined: until the bounds push it out. */
  retentionMs?: number
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

  /** A round, if `owner` may read it (undefined: anyone may, as on an open gateway or for its operator). */
  get(id: string, now: number, owner?: string): StoredRound | undefined {
    this.expire(now)
    const r = this.rounds.get(id)
    return r !== undefined && (owner === undefined || r.owner === owner) ? r : undefined
  }

  recent(limit: number, now: number, owner?: string): StoredRound[] {
    this.expire(now)
    const all = [...this.rounds.values()]
    return (owner === undefined ? all : all.filter((r) => r.owner === owner)).slice(-limit).reverse()
  }

  /** Forgets rounds past the retention period (they were added in time order). */
  private expire(now: number): void {
    const keep = this.limits.retentionMs
    if (keep === undefined) return
    for (const [id, r] of this.rounds) {
      if (now - r.finishedAt <= keep) break
      this.rounds.delete(id)
      this.bytes -= cost(r)
    }
  }
}

/** Characters held: the transcript and question dominate; the settlement is a few ids per member. */
const cost = (r: StoredRound) => r.transcript.length + r.question.length

/** What the store keeps of a finished round. */
export function storedRound(result: RoundResult, question: string, roundMs: number, transcript: string, finishedAt: number, owner?: string): StoredRound {
  return {
    ...(owner === undefined ? {} : { owner }),
    round: result.roundId,
    question: question.slice(0, 200),
    finishedAt,
    roundMs,
    ranked: result.outcome.ranked,
    winner: result.outcome.winner,
    root: result.result.env.body.root,
    transcript,
    phases: phaseSpans(result.times),
    answers: result.outcome.scores.length,
    feeMicro: (result.transcript[0]!.env as Envelope<'Query'>).body.fee,
    ticketMicro: (result.transcript[0]!.env as Envelope<'Query'>).body.ticket,
    chargeMicro: result.price.toString(),
    ...(result.redacted ? { redacted: result.redacted } : {}),
  }
}
