import type { Assignment, Judgement } from '../consensus/assignment.js'
import { commitment } from '../crypto/commitment.js'
import type { Identity } from '../crypto/identity.js'
import { merkleRoot } from '../crypto/merkle.js'
import { type CryptoMeter, type Signed, signEnvelope } from '../protocol/envelope.js'
import type { AnswerSpec } from '../consensus/answerTypes.js'
import { BEACON_RULES, LEDGERLESS_RULES, LOCKED_JOIN_RULES, type RoundRules } from '../protocol/rulesVersions.js'
import { type BeaconPhase, type IssuedBeacon, joinSealHash, type RoundBeacon } from './beacons.js'
import { ProtocolError } from '../protocol/errors.js'
import type { BodyOf, ChatMessage, MessageType, QueryBody, RoundEndReason } from '../protocol/messages.js'
import { packSeal } from '../protocol/seal.js'
import { allowsOperator, type LedgerView, meetsReputation } from './ledgerView.js'
import {
  computeOutcome,
  planJudging,
  type RevealedAnswer,
  type RoundOutcome,
  resultFields,
} from './outcome.js'
import { assignmentSeed, beaconSeed, promptHash, promptSalt, questionText, roundIdOf, secretCommitment, selectMembers, verdictPayload } from './rules.js'

/**
 * The coordinator's side of a round as a state machine. It does no I/O and reads no clock: `now` and
 * the secret r₀ are arguments, messages arrive already signature-checked, and every action comes
 * back as an effect for the runtime to perform. State is mutated in place (a round holds hundreds
 * of messages; copying it per message would be quadratic) but only through `apply` and `tick`.
 *
 * Phases close on quorum or deadline, whichever comes first. However a round ends, everyone still
 * in it hears a `RoundEnded`: every member whose answer was sealed when the Result is signed, and
 * everyone it was waiting on when it is given up (too few joins or answers, or abandoned by the
 * runtime).
 */
export type CoordinatorPhase =
  | 'joining'
  /** Rules 2 on: the joiner set is sealed; the ledger's beacon for it will pick the members. */
  | 'selecting'
  | 'committing'
  | 'revealing'
  /** Rules 2 on: the reveals are in; the beacon for CommitsSealed will key the assignment. */
  | 'assigning'
  | 'verdictCommitting'
  | 'verdictRevealing'
  | 'done'
  | 'failed'

export interface PhaseDurations {
  join: number
  commit: number
  reveal: number
  verdictCommit: number
  verdictReveal: number
}

export interface RoundRequest {
  coordSeq: number
  /** This coordinator's first coordSeq since it started: its older rounds are void (default 0). */
  since?: number
  messages: ChatMessage[]
  /**
   * Broadcast only the prompt's salted hash and size: the messages go in a signed `Prompt` to the
   * seated members alone (default: the Query carries them, for every node on the topic to read).
   */
  private?: boolean
  domains?: string[]
  /** Only nodes of these operator accounts may join (the Query's `operators`; absent: any). */
  operators?: string[]
  minMembers: number
  maxMembers: number
  durations: PhaseDurations
  fee?: string
  ticket?: string
  minReputation?: number
  /** Close the join window as soon as this many joins arrived (default maxMembers). */
  joinTarget?: number
  /** How replies are read and grouped (consensus/answerTypes.ts); absent: as before answer types. */
  answer?: AnswerSpec
  /** How members sample their answers (the Query's `sampling`). */
  sampling?: QueryBody['sampling']
}

export interface CoordinatorContext {
  identity: Identity
  ledger: LedgerView
  /**
   * The rules its Queries sign (default version 1, for a round on no ledger). From version 2 the
   * round asks the runtime for the ledger's beacons (`beacon` effects, answered by `beacon()`).
   */
  rules?: RoundRules
  meter?: CryptoMeter
}

export type CoordinatorEffect =
  | { kind: 'broadcast'; msg: Signed }
  | { kind: 'send'; to: readonly string[]; msg: Signed }
  /** Member envelopes passed on unchanged (answers a judge must read). */
  | { kind: 'forward'; to: string; msgs: readonly Signed[] }
  | { kind: 'done'; outcome: RoundOutcome; result: Signed<'Result'>; transcript: readonly Signed[] }
  | { kind: 'failed'; code: RoundFailureCode; message: string }
  /**
   * Ask the ledger for the beacon that follows the seal with this hash; answer with `beacon()`.
   * Rules 3 on, a members beacon carries the Joins held here: the ledger locks any whose node's own
   * lock has not reached it yet (a node sends both at once).
   */
  | { kind: 'beacon'; phase: BeaconPhase; seal: string; joins?: readonly Signed<'Join'>[] }
  /** A round given up on has stopped answering latecomers: the runtime may forget it. */
  | { kind: 'retired' }

type RoundFailureCode = 'NO_MEMBERS' | 'NO_ANSWERS' | 'LATE' | 'NO_BEACON'
const ABANDON_REASON = { NO_MEMBERS: 'no-members', NO_ANSWERS: 'no-answers', LATE: 'late', NO_BEACON: 'no-beacon' } as const
/** RoundEnded.result when there is no Result. */
const NO_RESULT = '0'.repeat(64)

/** When each phase closed and how long it took, for provenance and metrics (not signed). */
export type PhaseTimes = Partial<Record<CoordinatorPhase | 'issued', number>>

export class CoordinatorRound {
  readonly roundId: string
  readonly query: Signed<'Query'>
  private state: CoordinatorPhase = 'joining'
  readonly times: PhaseTimes
  private readonly body: QueryBody
  private readonly joinTarget: number
  private joins = new Map<string, Signed<'Join'>>()
  /** Rules 3: nodes whose Join came here but whose ticket the ledger never locked. */
  private unlocked: string[] = []
  private members = new Set<string>()
  private readonly commits = new Map<string, Signed<'AnswerCommit'>>()
  /** CommitsSealed's packed list, as signed: the assignment seed hashes it. */
  private sealedCommits = ''
  private readonly reveals = new Map<string, Signed<'AnswerReveal'>>()
  private answers: RevealedAnswer[] = []
  private assignment: Assignment | undefined
  private readonly verdictCommits = new Map<string, Signed<'VerdictCommit'>>()
  private readonly verdictReveals = new Map<string, Signed<'VerdictReveal'>>()
  private readonly transcript: Signed[] = []
  private seq = 0
  private membersSeal: Signed<'Members'> | undefined
  /** A private round's prompt, sent to the seated members only. */
  private privatePrompt: BodyOf<'Prompt'> | undefined
  /** Sent to everyone the round was waiting on when it was given up, and to any latecomer. */
  private abandoned: Signed<'RoundEnded'> | undefined
  /** A round given up while joining answers late Joins until the join deadline (nobody else knows it ended). */
  private lingerUntil: number | undefined
  /** Rules 2 on: the seal hash each beacon was asked for, and the assignment beacon once it came. */
  private readonly beaconSeals = new Map<BeaconPhase, string>()
  private assignmentBeacon: RoundBeacon | undefined

  private constructor(
    private readonly ctx: CoordinatorContext,
    request: RoundRequest,
    private readonly r0: string,
    now: number,
  ) {
    if (request.minMembers > request.maxMembers) throw new RangeError('minMembers exceeds maxMembers')
    const d = request.durations
    const join = now + d.join
    const commit = join + d.commit
    const reveal = commit + d.reveal
    const verdictCommit = reveal + d.verdictCommit
    this.body = {
      coordSeq: request.coordSeq,
      since: request.since ?? 0,
      ledgerHead: ctx.ledger.head(),
      c0: secretCommitment(r0),
      messages: request.private ? [] : request.messages,
      ...(request.private ? { prompt: { hash: promptHash(request.messages, promptSalt(r0)), chars: request.messages.reduce((n, m) => n + m.content.length, 0) } } : {}),
      domains: request.domains ?? [],
      ...(request.operators === undefined ? {} : { operators: [...new Set(request.operators)].sort() }),
      minMembers: request.minMembers,
      maxMembers: request.maxMembers,
      deadlines: { join, commit, reveal, verdictCommit, verdictReveal: verdictCommit + d.verdictReveal },
      fee: request.fee ?? '0',
      ticket: request.ticket ?? '0',
      minReputation: request.minReputation ?? 0,
      issuedAt: now,
      rules: ctx.rules ?? LEDGERLESS_RULES,
      ...(request.answer === undefined ? {} : { answer: request.answer }),
      ...(request.sampling === undefined ? {} : { sampling: request.sampling }),
    }
    if (request.private) this.privatePrompt = { messages: request.messages, salt: promptSalt(r0) }
    this.roundId = roundIdOf(ctx.identity.id, this.body)
    this.joinTarget = request.joinTarget ?? request.maxMembers
    this.query = this.sign('Query', this.body)
    this.transcript.push(this.query)
    this.times = { issued: now }
  }

  /** Starts a round: the effects publish its Query. */
  static start(ctx: CoordinatorContext, request: RoundRequest, r0: string, now: number) {
    const round = new CoordinatorRound(ctx, request, r0, now)
    return { round, effects: [{ kind: 'broadcast', msg: round.query }] as CoordinatorEffect[] }
  }

  get phase(): CoordinatorPhase {
    return this.state
  }

  /** The members seated (empty until the Members seal). */
  get seated(): readonly string[] {
    return [...this.members]
  }

  get deadlines(): QueryBody['deadlines'] {
    return this.body.deadlines
  }

  /**
   * The deadline that closes the current phase, if any is pending; for a round given up while
   * joining, the join deadline, until which it answers latecomers.
   */
  nextDeadline(): number | undefined {
    if (this.state === 'failed') return this.lingerUntil
    const due = this.phaseDeadline()
    // Waiting on a beacon: the phase is closed, and the round gives up when the grace runs out.
    return due !== undefined && (this.state === 'selecting' || this.state === 'assigning') ? due + this.body.rules.sealGraceMs : due
  }

  /** The Query's deadline for the current phase (its seal is dated by it, plus the grace). */
  private phaseDeadline(): number | undefined {
    const d = this.body.deadlines
    switch (this.state) {
      case 'joining':
      case 'selecting':
        return d.join
      case 'committing':
        return d.commit
      case 'revealing':
      case 'assigning':
        return d.reveal
      case 'verdictCommitting':
        return d.verdictCommit
      case 'verdictRevealing':
        return d.verdictReveal
      default:
        return undefined
    }
  }

  tick(now: number): CoordinatorEffect[] {
    const deadline = this.nextDeadline()
    if (deadline === undefined || now < deadline) return []
    if (this.state === 'failed') {
      this.lingerUntil = undefined
      return [{ kind: 'retired' }]
    }
    return this.closePhase(now)
  }

  /** Applies a verified member message; throws a ProtocolError saying why one is not accepted. */
  apply(msg: Signed, now: number): CoordinatorEffect[] {
    const { env } = msg
    if (env.round !== this.roundId) throw new ProtocolError('WRONG_ROUND', 'message for another round')
    switch (env.type) {
      case 'Join':
        return this.onJoin(msg as Signed<'Join'>, now)
      case 'AnswerCommit':
        return this.onCommit(msg as Signed<'AnswerCommit'>, now)
      case 'AnswerReveal':
        return this.onReveal(msg as Signed<'AnswerReveal'>, now)
      case 'VerdictCommit':
        return this.onVerdictCommit(msg as Signed<'VerdictCommit'>, now)
      case 'VerdictReveal':
        return this.onVerdictReveal(msg as Signed<'VerdictReveal'>, now)
      default:
        throw new ProtocolError('WRONG_SENDER', `${env.type} is not a member message`)
    }
  }

  /**
   * The ledger's answer to a `beacon` effect. A beacon bound to another seal than the one asked for
   * (the ledger had issued one for this round and phase already) cannot key this round: given up.
   * Rules 3 on, the members beacon comes with the joiner set the ledger locked (`lockedJoins`, their
   * signatures checked by the runtime): the round seals that set, whatever Joins reached it here.
   */
  beacon(phase: BeaconPhase, issued: IssuedBeacon, now: number, lockedJoins?: readonly Signed[]): CoordinatorEffect[] {
    if (this.state === 'done' || this.state === 'failed') return []
    const asked = this.beaconSeals.get(phase)
    if (asked === undefined) throw new RangeError(`no ${phase} beacon was asked for`)
    if (phase === 'members' && this.locksJoins) {
      const problem = this.state === 'selecting' ? this.takeLockedJoins(lockedJoins, issued.seal) : undefined
      if (problem !== undefined) return this.fail('NO_BEACON', problem, now)
    } else if (issued.seal !== asked) return this.fail('NO_BEACON', `the ledger's ${phase} beacon for this round follows another seal`, now)
    const beacon = { chain: issued.chain, index: issued.index, value: issued.value }
    if (phase === 'members') return this.state === 'selecting' ? this.withinGrace(now, () => this.sealMembers(now, beacon)) : []
    this.assignmentBeacon = beacon
    return this.state === 'assigning' ? this.withinGrace(now, () => this.sealReveals(now)) : []
  }

  /** The runtime could not get a beacon (the ledger is unreachable, or refused): the round cannot go on. */
  beaconFailed(phase: BeaconPhase, reason: string, now: number): CoordinatorEffect[] {
    if (this.state === 'done' || this.state === 'failed') return []
    return this.fail('NO_BEACON', `no ${phase} beacon from the ledger: ${reason}`, now)
  }

  /**
   * Gives the round up (the runtime's caller went away, or the runtime is stopping): everyone the
   * round was waiting on hears `RoundEnded` and leaves at once instead of at its deadlines.
   */
  abandon(reason: 'cancelled' | 'stopped', now: number): CoordinatorEffect[] {
    if (this.state === 'done' || this.state === 'failed') return []
    const effects = this.tellAbandoned(reason, now)
    this.state = 'failed'
    return effects
  }

  private expect(phase: CoordinatorPhase, msg: Signed): void {
    if (this.state !== phase)
      throw new ProtocolError('WRONG_PHASE', `${msg.env.type} arrived in phase ${this.state}`)
  }

  /** Who is still in the round, waiting for the coordinator's next message. */
  private waitingOn(): string[] {
    switch (this.state) {
      case 'joining':
      case 'selecting':
        return [...this.joins.keys()]
      case 'committing':
        return [...this.members]
      case 'revealing':
        return [...this.commits.keys()]
      default:
        return [...this.reveals.keys()]
    }
  }

  private tellAbandoned(reason: Exclude<RoundEndReason, 'done'>, now: number): CoordinatorEffect[] {
    const to = this.waitingOn()
    // Given up while joining: a Query still in flight may yet bring Joins, and those nodes must
    // hear it too (they would otherwise hold the round until the join deadline and the grace).
    if (this.state === 'joining' && now < this.body.deadlines.join) this.lingerUntil = this.body.deadlines.join
    this.abandoned = this.sign('RoundEnded', { reason, result: NO_RESULT, at: now })
    return to.length === 0 ? [] : [{ kind: 'send', to, msg: this.abandoned }]
  }

  private onJoin(msg: Signed<'Join'>, now: number): CoordinatorEffect[] {
    const from = msg.env.from
    // A Join that comes after the round moved on gets the news at once instead of its deadline's
    // worth of waiting: the round was given up, or its members were sealed without this node.
    if (this.state !== 'joining' && this.abandoned !== undefined) return [{ kind: 'send', to: [from], msg: this.abandoned }]
    if (this.state !== 'joining' && this.membersSeal !== undefined && !this.joins.has(from)) return [{ kind: 'send', to: [from], msg: this.membersSeal }]
    this.expect('joining', msg)
    if (this.joins.has(from)) throw new ProtocolError('DUPLICATE', 'already joined')
    if (from === this.ctx.identity.id)
      throw new ProtocolError('WRONG_SENDER', 'the coordinator cannot join its own round')
    if (!this.ctx.ledger.eligible(from)) throw new ProtocolError('NOT_MEMBER', 'not eligible to join')
    if (!meetsReputation(this.ctx.ledger, from, this.body.minReputation)) throw new ProtocolError('NOT_MEMBER', 'below the reputation this round asks for')
    if (!allowsOperator(this.ctx.ledger, from, this.body.operators)) throw new ProtocolError('NOT_MEMBER', "of an operator this round's client did not name")
    if (msg.env.body.ticket !== this.body.ticket)
      throw new ProtocolError('BAD_TICKET', `ticket ${msg.env.body.ticket} differs from the round ticket ${this.body.ticket}`)
    this.joins.set(from, msg)
    return this.joins.size >= this.joinTarget ? this.closePhase(now) : []
  }

  private onCommit(msg: Signed<'AnswerCommit'>, now: number): CoordinatorEffect[] {
    this.expect('committing', msg)
    const from = msg.env.from
    if (!this.members.has(from)) throw new ProtocolError('NOT_MEMBER', 'not a member of this round')
    if (this.commits.has(from)) throw new ProtocolError('DUPLICATE', 'already committed')
    this.commits.set(from, msg)
    return this.commits.size === this.members.size ? this.closePhase(now) : []
  }

  private onReveal(msg: Signed<'AnswerReveal'>, now: number): CoordinatorEffect[] {
    this.expect('revealing', msg)
    const { from, body } = msg.env
    const c = this.commits.get(from)
    if (c === undefined) throw new ProtocolError('NOT_MEMBER', 'no sealed commit from this node')
    if (this.reveals.has(from)) throw new ProtocolError('DUPLICATE', 'already revealed')
    if (commitment(this.roundId, from, body.answer, body.salt) !== c.env.body.c) {
      throw new ProtocolError('COMMIT_MISMATCH', 'reveal does not open the commit')
    }
    this.reveals.set(from, msg)
    return this.reveals.size === this.commits.size ? this.closePhase(now) : []
  }

  private onVerdictCommit(msg: Signed<'VerdictCommit'>, now: number): CoordinatorEffect[] {
    this.expect('verdictCommitting', msg)
    const from = msg.env.from
    if (!this.assignment?.byJudge.has(from))
      throw new ProtocolError('NOT_MEMBER', 'not a judge of this round')
    if (this.verdictCommits.has(from)) throw new ProtocolError('DUPLICATE', 'already committed verdicts')
    this.verdictCommits.set(from, msg)
    return this.verdictCommits.size === this.assignment.byJudge.size ? this.closePhase(now) : []
  }

  private onVerdictReveal(msg: Signed<'VerdictReveal'>, now: number): CoordinatorEffect[] {
    this.expect('verdictRevealing', msg)
    const { from, body } = msg.env
    const c = this.verdictCommits.get(from)
    if (c === undefined) throw new ProtocolError('NOT_MEMBER', 'no sealed verdict commit from this node')
    if (this.verdictReveals.has(from)) throw new ProtocolError('DUPLICATE', 'already revealed verdicts')
    if (commitment(this.roundId, from, verdictPayload(body.verdicts), body.salt) !== c.env.body.c) {
      throw new ProtocolError('COMMIT_MISMATCH', 'verdict reveal does not open the commit')
    }
    checkVerdictsMatch(body.verdicts, this.assignment!.byJudge.get(from)!)
    this.verdictReveals.set(from, msg)
    return this.verdictReveals.size === this.verdictCommits.size ? this.closePhase(now) : []
  }

  private closePhase(now: number): CoordinatorEffect[] {
    // Only the grace's end ticks a round waiting on a beacon: the beacon did not come.
    if (this.state === 'selecting' || this.state === 'assigning') {
      return this.fail('NO_BEACON', `the ledger's beacon did not come within ${this.body.rules.sealGraceMs} ms of the ${this.state === 'selecting' ? 'join' : 'reveal'} deadline`, now)
    }
    return this.withinGrace(now, () => {
      this.times[this.state] = now
      switch (this.state) {
        case 'joining':
          return this.usesBeacons ? this.askMembersBeacon(now) : this.sealMembers(now)
        case 'committing':
          return this.sealCommits(now)
        case 'revealing':
          return this.usesBeacons && this.assignmentBeacon === undefined ? this.awaitAssignmentBeacon() : this.sealReveals(now)
      case 'verdictCommitting':
        return this.sealVerdictCommits(now)
        case 'verdictRevealing':
          return this.finish(now)
        default:
          return []
      }
    })
  }

  /**
   * Whether the ledger was asked for this round's members beacon: from then on the ledger holds
   * the round open, and its fee is owed whether or not the round finishes.
   */
  get openOnLedger(): boolean {
    return this.beaconSeals.has('members')
  }

  private get usesBeacons(): boolean {
    return this.body.rules.version >= BEACON_RULES
  }

  private get locksJoins(): boolean {
    return this.body.rules.version >= LOCKED_JOIN_RULES
  }

  /**
   * Rules 3: the joiners are those whose tickets the ledger locked before it closed the joins.
   * Each must be a Join this round would have taken itself, and together they must be the set the
   * beacon follows; otherwise the ledger and this round disagree and the round cannot be sealed.
   */
  private takeLockedJoins(locked: readonly Signed[] | undefined, seal: string): string | undefined {
    if (locked === undefined) return "the ledger's members beacon names no joiner set"
    const joins = new Map<string, Signed<'Join'>>()
    for (const j of locked) {
      const from = j.env.from
      if (j.env.type !== 'Join' || j.env.round !== this.roundId || joins.has(from) || from === this.ctx.identity.id) return "the ledger's joiner set holds a message that is no Join of this round"
      const join = j as Signed<'Join'>
      if (join.env.body.ticket !== this.body.ticket || !this.ctx.ledger.eligible(from) || !meetsReputation(this.ctx.ledger, from, this.body.minReputation) || !allowsOperator(this.ctx.ledger, from, this.body.operators)) return `the ledger locked a Join this round refuses (from ${from.slice(0, 8)}…)`
      joins.set(from, join)
    }
    if (joinSealHash(this.roundId, entries(sortedValues(joins))) !== seal) return "the ledger's members beacon follows another joiner set than the Joins it names"
    if (joins.size < this.body.minMembers) return `${joins.size} joiner(s) locked a ticket; the round needs ${this.body.minMembers}`
    // Who joined here but locked nothing still hears the seal (and so leaves at once).
    this.unlocked = [...this.joins.keys()].filter((id) => !joins.has(id))
    this.joins = joins
    return undefined
  }

  /**
   * A seal dated past its deadline and the grace reaches nobody (members stopped waiting) and would
   * not verify: a coordinator that fell that far behind (or waited that long for a beacon) gives
   * the round up instead.
   */
  private withinGrace(now: number, then: () => CoordinatorEffect[]): CoordinatorEffect[] {
    const due = this.phaseDeadline()
    if (due !== undefined && now > due + this.body.rules.sealGraceMs) {
      return this.fail('LATE', `the ${this.state} phase closed ${now - due} ms after its deadline`, now)
    }
    return then()
  }

  /** Rules 2 on: the joiner set is fixed here; the ledger's beacon for it will choose the members. */
  private askMembersBeacon(now: number): CoordinatorEffect[] {
    const joins = sortedValues(this.joins)
    if (joins.length < this.body.minMembers) {
      return this.fail('NO_MEMBERS', `${joins.length} node(s) joined; the round needs ${this.body.minMembers}`, now)
    }
    const seal = joinSealHash(this.roundId, entries(joins))
    this.beaconSeals.set('members', seal)
    this.state = 'selecting'
    return [{ kind: 'beacon', phase: 'members', seal, ...(this.locksJoins ? { joins } : {}) }]
  }

  private awaitAssignmentBeacon(): CoordinatorEffect[] {
    this.state = 'assigning'
    return []
  }

  private sealMembers(now: number, beacon?: RoundBeacon): CoordinatorEffect[] {
    const joins = sortedValues(this.joins)
    if (joins.length < this.body.minMembers) {
      return this.fail('NO_MEMBERS', `${joins.length} node(s) joined; the round needs ${this.body.minMembers}`, now)
    }
    this.members = new Set(
      selectMembers(
        this.roundId,
        joins.map((j) => j.env.from),
        this.body.maxMembers,
        beacon?.value,
      ),
    )
    const seal = this.seal('Members', { joins: entries(joins), at: now, ...(beacon ? { beacon } : {}) }, joins)
    this.membersSeal = seal
    this.state = 'committing'
    const effects: CoordinatorEffect[] = [{ kind: 'send', to: [...this.joins.keys(), ...this.unlocked], msg: seal }]
    if (this.privatePrompt !== undefined) {
      const prompt = this.sign('Prompt', this.privatePrompt)
      this.transcript.push(prompt)
      effects.push({ kind: 'send', to: [...this.members], msg: prompt })
    }
    return effects
  }

  private sealCommits(now: number): CoordinatorEffect[] {
    const commits = sortedValues(this.commits)
    if (commits.length === 0) return this.fail('NO_ANSWERS', 'no member committed an answer in time', now)
    this.sealedCommits = entries(commits)
    const seal = this.seal('CommitsSealed', { commits: this.sealedCommits, r0: this.r0, at: now }, commits)
    this.state = 'revealing'
    const effects: CoordinatorEffect[] = [{ kind: 'send', to: [...this.members], msg: seal }]
    // Rules 2 on: the assignment's beacon follows this seal; it arrives while members reveal.
    if (this.usesBeacons) {
      this.beaconSeals.set('assignment', seal.hash)
      effects.push({ kind: 'beacon', phase: 'assignment', seal: seal.hash })
    }
    return effects
  }

  private sealReveals(now: number): CoordinatorEffect[] {
    const reveals = sortedValues(this.reveals)
    if (reveals.length === 0) return this.fail('NO_ANSWERS', 'no member revealed an answer in time', now)
    const beacon = this.assignmentBeacon
    const seal = this.seal('RevealsSealed', { reveals: entries(reveals), at: now, ...(beacon ? { beacon } : {}) }, reveals)
    this.answers = reveals.map((r) => ({
      owner: r.env.from,
      text: r.env.body.answer,
      commitHash: this.commits.get(r.env.from)!.hash,
    }))
    const seed = beacon ? beaconSeed(this.roundId, this.sealedCommits, this.body.ledgerHead, beacon.value) : assignmentSeed(this.roundId, this.sealedCommits, this.body.ledgerHead, this.r0)
    const assignment = planJudging(this.answers, this.ctx.ledger, seed)
    // Every revealer hears the seal: a member without judging work learns that it only waits for
    // the Result, and in a round too small to rank, the Result follows at once.
    const effects: CoordinatorEffect[] = [{ kind: 'send', to: [...this.reveals.keys()], msg: seal }]
    if (this.answers.length < this.body.rules.minRanked || assignment.byJudge.size === 0) return [...effects, ...this.finish(now)]
    this.assignment = assignment
    this.state = 'verdictCommitting'
    for (const [judge, js] of assignment.byJudge) {
      const owners = new Set(js.flatMap((j) => [j.a, j.b]))
      effects.push({ kind: 'forward', to: judge, msgs: [...owners].sort().map((o) => this.reveals.get(o)!) })
    }
    return effects
  }

  private sealVerdictCommits(now: number): CoordinatorEffect[] {
    const commits = sortedValues(this.verdictCommits)
    const seal = this.seal('VerdictCommitsSealed', { commits: entries(commits), at: now }, commits)
    if (commits.length === 0) return this.finish(now)
    this.state = 'verdictRevealing'
    return [{ kind: 'send', to: [...this.verdictCommits.keys()], msg: seal }]
  }

  private finish(now: number): CoordinatorEffect[] {
    if (this.assignment !== undefined) {
      const reveals = sortedValues(this.verdictReveals)
      this.seal('VerdictsSealed', { reveals: entries(reveals), at: now }, reveals)
    }
    const outcome = computeOutcome(
      this.answers,
      sortedValues(this.verdictReveals).map((r) => ({ judge: r.env.from, verdicts: r.env.body.verdicts })),
      this.ctx.ledger,
      this.body.rules,
      this.body.answer,
      questionText(this.privatePrompt ?? this.body),
    )
    const root = merkleRoot(this.transcript.map((m) => m.wire))
    const result = this.sign('Result', { root, ...resultFields(outcome), at: now })
    this.transcript.push(result)
    this.state = 'done'
    this.times.done = now
    // The caller first: the members' notice can follow the answer out.
    const ended = this.sign('RoundEnded', { reason: 'done', result: result.hash, at: now, winner: outcome.winner })
    return [
      { kind: 'done', outcome, result, transcript: this.transcript },
      { kind: 'send', to: [...this.reveals.keys()], msg: ended },
    ]
  }

  private fail(code: RoundFailureCode, message: string, now: number): CoordinatorEffect[] {
    const effects = this.tellAbandoned(ABANDON_REASON[code], now)
    this.state = 'failed'
    return [...effects, { kind: 'failed', code, message }]
  }

  /** Signs a seal and appends it, after the member messages it lists, to the transcript. */
  private seal<T extends MessageType>(type: T, body: BodyOf<T>, listed: readonly Signed[]): Signed<T> {
    const msg = this.sign(type, body)
    this.transcript.push(...listed, msg)
    return msg
  }

  private sign<T extends MessageType>(type: T, body: BodyOf<T>): Signed<T> {
    const seq = this.seq++
    return signEnvelope(this.ctx.identity, { type, round: this.roundId, seq, body }, this.ctx.meter)
  }
}

function sortedValues<T extends Signed>(m: Map<string, T>): T[] {
  return [...m.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1)).map((e) => e[1])
}

function entries(msgs: readonly Signed[]): string {
  return packSeal(msgs.map((m) => ({ from: m.env.from, hash: m.hash })))
}

/** A judge's verdict list must cover exactly its assigned judgements, in order. */
export function checkVerdictsMatch(
  verdicts: readonly { a: string; b: string }[],
  assigned: readonly Judgement[],
): void {
  if (verdicts.length !== assigned.length) {
    throw new ProtocolError(
      'BAD_VERDICTS',
      `${verdicts.length} verdicts for ${assigned.length} assigned judgements`,
    )
  }
  for (let i = 0; i < verdicts.length; i++) {
    if (verdicts[i]!.a !== assigned[i]!.a || verdicts[i]!.b !== assigned[i]!.b) {
      throw new ProtocolError('BAD_VERDICTS', `verdict ${i} is not on the assigned pair`)
    }
  }
}
