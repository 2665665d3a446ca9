import { canonicalJson } from '../../src/crypto/canonical.js'
import { hashParts } from '../../src/crypto/hash.js'
import { type Identity, identityFromSeed, SignatureVerifier } from '../../src/crypto/identity.js'
import { openEnvelope, type Signed } from '../../src/protocol/envelope.js'
import type { Verdict } from '../../src/protocol/messages.js'
import { type CoordinatorEffect, CoordinatorRound, type RoundRequest } from '../../src/round/coordinator.js'
import { genesisLedgerView, type LedgerView } from '../../src/round/ledgerView.js'
import { type BeaconPhase, type IssuedBeacon, joinSealHash } from '../../src/round/beacons.js'
import { LOCKED_JOIN_RULES, type RoundRules } from '../../src/protocol/rulesVersions.js'
import { packSeal } from '../../src/protocol/seal.js'
import { DEFAULT_GRACE_MS, type ParticipantEffect, ParticipantRound } from '../../src/round/participant.js'

/**
 * Drives one coordinator and N participants synchronously, with no runtime: every message passes
 * through openEnvelope (so signatures are real), and hooks let a test drop, alter or delay any of
 * them. Salts and keys are deterministic.
 */
export const ident = (label: string): Identity =>
  identityFromSeed(Buffer.from(hashParts('test', label), 'hex'))
export const salt = (label: string) => hashParts('salt', label)

export interface HarnessOptions {
  nodes: number
  request?: Partial<RoundRequest>
  ledger?: LedgerView
  r0?: string
  /** Return false to drop a message from a member to the coordinator. */
  toCoordinator?: (msg: Signed, from: Identity, h: Harness) => boolean
  /** Return false to drop a message from the coordinator (or a forward) to a member. */
  toMember?: (msg: Signed, to: Identity, h: Harness) => boolean
  answer?: (node: Identity, i: number) => string | undefined
  verdict?: (judge: Identity, a: string, b: string) => Verdict['v']
  /** Rules 4 on: whether a judge marks an answer (by owner) as no genuine attempt (default: none). */
  marks?: (judge: Identity, owner: string) => boolean
  /** The clock the round starts at (ms; default 1 000 000). */
  now?: number
  /** The rules the Query signs (default version 1). */
  rules?: RoundRules
  /**
   * Rules 2 on: the ledger's answer to a beacon request, given at once (a stand-in for the ledger;
   * default: a beacon derived from the phase and seal, and `issued` records each).
   */
  beacon?: (phase: BeaconPhase, seal: string, query: Signed<'Query'>, joins?: readonly Signed<'Join'>[]) => IssuedBeacon | undefined
  /**
   * Rules 3 on: whether the ledger locks a member's ticket when it joins (default: the stand-in
   * locks every one; a test on a real ledger locks there). A members beacon that names its own
   * joiner set (`joins`, a real ledger's) is taken as named.
   */
  locks?: (node: Identity, join: Signed<'Join'>, query: Signed<'Query'>) => boolean
}

/** A stand-in ledger's beacon: a fixed function of what was asked (tests only). */
export const testBeacon = (phase: BeaconPhase, seal: string): IssuedBeacon => ({ chain: 1, index: phase === 'members' ? 1 : 2, value: hashParts('test-beacon', phase, seal), seal })

function markOf(judge: Identity, a: string, b: string, marks: HarnessOptions['marks']): { g?: number } {
  const g = (marks?.(judge, a) ? 1 : 0) | (marks?.(judge, b) ? 2 : 0)
  return g === 0 ? {} : { g }
}

export class Harness {
  readonly coordId = ident('coordinator')
  readonly members: Identity[]
  readonly ledger: LedgerView
  readonly round: CoordinatorRound
  readonly parts = new Map<string, ParticipantRound>()
  readonly rejected: { code: string; type: string }[] = []
  readonly memberEffects: { node: string; effect: ParticipantEffect }[] = []
  outcome: Extract<CoordinatorEffect, { kind: 'done' }> | undefined
  /** The beacons handed to the coordinator, by phase (what a verifier looks up). */
  readonly issued = new Map<BeaconPhase, IssuedBeacon>()
  /** Rules 3 on: the Joins whose tickets the stand-in ledger locked, by node. */
  readonly locked = new Map<string, Signed<'Join'>>()
  failure: Extract<CoordinatorEffect, { kind: 'failed' }> | undefined
  now = 1_000_000
  private readonly verifier = new SignatureVerifier()

  constructor(readonly opts: HarnessOptions) {
    this.ledger = opts.ledger ?? genesisLedgerView()
    if (opts.now !== undefined) this.now = opts.now
    this.members = Array.from({ length: opts.nodes }, (_, i) => ident(`node-${i}`))
    const { round, effects } = CoordinatorRound.start(
      { identity: this.coordId, ledger: this.ledger, ...(opts.rules ? { rules: opts.rules } : {}) },
      {
        coordSeq: 1,
        messages: [{ role: 'user', content: 'What is 6 × 7?' }],
        minMembers: Math.min(3, opts.nodes),
        maxMembers: opts.nodes,
        durations: { join: 100, commit: 100, reveal: 100, verdictCommit: 100, verdictReveal: 100 },
        ...opts.request,
      },
      opts.r0 ?? salt('r0'),
      this.now,
    )
    this.round = round
    this.coordinatorEffects(effects)
  }

  /** Re-opens a message as a receiver would (real signature check). */
  reopen(msg: Signed): Signed {
    return openEnvelope(msg.wire, this.verifier)
  }

  deliverToCoordinator(msg: Signed): void {
    try {
      this.coordinatorEffects(this.round.apply(this.reopen(msg), this.now))
    } catch (err) {
      this.rejected.push({ code: (err as { code: string }).code, type: msg.env.type })
    }
  }

  deliverToMember(node: Identity, msg: Signed): void {
    if (this.opts.toMember && !this.opts.toMember(msg, node, this)) return
    const p = this.parts.get(node.id)
    if (p === undefined) return
    try {
      this.memberEffects_(node, p, p.apply(this.reopen(msg)))
    } catch (err) {
      this.rejected.push({ code: (err as { code: string }).code, type: msg.env.type })
    }
  }

  tick(to: number): void {
    this.now = to
    this.coordinatorEffects(this.round.tick(this.now))
    for (const node of this.members) {
      const p = this.parts.get(node.id)
      if (p !== undefined) this.memberEffects_(node, p, p.tick(this.now))
    }
  }

  /** Ticks past every remaining deadline, then past the members' grace after the last one. */
  runDeadlines(): void {
    for (const d of Object.values(this.round.deadlines)) if (d >= this.now) this.tick(d)
    this.tick(this.round.deadlines.verdictReveal + DEFAULT_GRACE_MS)
  }

  private coordinatorEffects(effects: CoordinatorEffect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case 'broadcast':
          for (const m of this.members) {
            const p = ParticipantRound.fromQuery(
              { identity: m, ledger: this.ledger },
              this.reopen(e.msg) as Signed<'Query'>,
              undefined,
            )
            this.parts.set(m.id, p)
            this.memberEffects_(m, p, p.start())
          }
          break
        case 'send':
          for (const to of e.to) this.deliverToMember(this.member(to), e.msg)
          break
        case 'forward':
          for (const m of e.msgs) this.deliverToMember(this.member(e.to), m)
          break
        case 'done':
          this.outcome = e
          break
        case 'failed':
          this.failure = e
          break
        case 'beacon': {
          // Rules 3: a members beacon follows the set of locked Joins, which the ledger names with it.
          const locking = e.phase === 'members' && this.round.query.env.body.rules.version >= LOCKED_JOIN_RULES
          const joins = [...this.locked.values()].sort((x, y) => (x.env.from < y.env.from ? -1 : 1))
          const seal = locking ? joinSealHash(this.round.roundId, packSeal(joins.map((j) => ({ from: j.env.from, hash: j.hash })))) : e.seal
          const issued = (this.opts.beacon ?? testBeacon)(e.phase, seal, this.round.query, e.joins)
          if (issued === undefined) break
          this.issued.set(e.phase, issued)
          const named = (issued as { joins?: unknown[] }).joins?.map((j) => openEnvelope(Buffer.from(canonicalJson(j), 'utf8'), this.verifier))
          this.coordinatorEffects(this.round.beacon(e.phase, issued, this.now, named ?? (locking ? joins : undefined)))
          break
        }
      }
    }
  }

  /** What a verifier of this round looks the beacons up in. */
  readonly beacons = (round: string, phase: BeaconPhase): IssuedBeacon | undefined => (round === this.round.roundId ? this.issued.get(phase) : undefined)

  private member(id: string): Identity {
    return this.members.find((m) => m.id === id)!
  }

  private memberEffects_(node: Identity, p: ParticipantRound, effects: ParticipantEffect[]): void {
    for (const e of effects) {
      this.memberEffects.push({ node: node.id, effect: e })
      switch (e.kind) {
        case 'send':
          if (e.msg.env.type === 'Join' && p.body.rules.version >= LOCKED_JOIN_RULES && (this.opts.locks?.(node, e.msg as Signed<'Join'>, this.round.query) ?? true)) this.locked.set(node.id, e.msg as Signed<'Join'>)
          if (!this.opts.toCoordinator || this.opts.toCoordinator(e.msg, node, this))
            this.deliverToCoordinator(e.msg)
          break
        case 'generate': {
          const i = this.members.indexOf(node)
          const text = this.opts.answer ? this.opts.answer(node, i) : `answer ${i}`
          if (text !== undefined) this.memberEffects_(node, p, p.answered(text, salt(`a-${i}`)))
          break
        }
        case 'judge': {
          // Default judge: the answer of the lower-numbered member is better (node-0 is the best).
          const rank = (id: string) => this.members.findIndex((m) => m.id === id)
          const vs = e.tasks.map((t) => ({
            a: t.a,
            b: t.b,
            v: this.opts.verdict
              ? this.opts.verdict(node, t.a, t.b)
              : rank(t.a) < rank(t.b)
                ? ('A' as const)
                : ('B' as const),
            p: -1,
            ...markOf(node, t.a, t.b, this.opts.marks),
          }))
          this.memberEffects_(node, p, p.judged(vs, salt(`v-${node.id}`)))
          break
        }
        case 'finished':
          break
      }
    }
  }

  finishedReasons(): Map<string, string> {
    const out = new Map<string, string>()
    for (const { node, effect } of this.memberEffects)
      if (effect.kind === 'finished') out.set(node, effect.reason)
    return out
  }
}
