import type { Judgement } from '../consensus/assignment.js'
import { commitment } from '../crypto/commitment.js'
import type { Identity } from '../crypto/identity.js'
import { type CryptoMeter, type Signed, signEnvelope } from '../protocol/envelope.js'
import { ProtocolError } from '../protocol/errors.js'
import type { BodyOf, MessageType, QueryBody, Verdict } from '../protocol/messages.js'
import { isSortedUnique, sealHas, sealMembers } from '../protocol/seal.js'
import type { LedgerView } from './ledgerView.js'
import { judgingTasks } from './outcome.js'
import { assignmentSeed, roundIdOf, secretCommitment, selectMembers, verdictPayload } from './rules.js'

/**
 * A member's side of one round as a state machine: no I/O, no clock. Model work is requested with
 * `generate` and `judge` effects and its result fed back through `answered` / `judged` (with the
 * salt, so randomness is injected too). Coordinator messages arrive signature-checked by the
 * runtime; this machine checks everything else it relies on: that seals list its own messages, that
 * r₀ opens c₀, that forwarded answers are the sealed ones.
 */
export type ParticipantPhase =
  | 'joined'
  | 'answering'
  | 'committed'
  | 'revealed'
  | 'judging'
  | 'verdictCommitted'
  | 'finished'

export interface JudgeTask extends Judgement {
  first: string
  second: string
}

export type ParticipantEffect =
  | { kind: 'send'; to: string; msg: Signed }
  | { kind: 'generate'; query: QueryBody }
  | { kind: 'judge'; query: QueryBody; tasks: JudgeTask[] }
  /** The round is over for this node; `reason` says how (for logs and metrics). */
  | { kind: 'finished'; reason: FinishReason; detail?: string }

export type FinishReason =
  | 'not-selected'
  | 'censored'
  | 'dropped'
  | 'coordinator-misbehaved'
  | 'no-tasks'
  | 'done'

export interface ParticipantContext {
  identity: Identity
  ledger: LedgerView
  meter?: CryptoMeter
}

export class ParticipantRound {
  phase: ParticipantPhase = 'joined'
  readonly roundId: string
  readonly coordinator: string
  readonly body: QueryBody
  private seq = 0
  private join: Signed<'Join'> | undefined
  private answer: { text: string; salt: string; commit: Signed<'AnswerCommit'> } | undefined
  /** CommitsSealed's and RevealsSealed's packed lists, as signed. */
  private sealedCommits = ''
  private sealedReveals = ''
  private r0 = ''
  private tasks: Judgement[] = []
  /** Forwarded answers, kept until RevealsSealed says which are genuine (bounded by maxMembers). */
  private readonly forwarded = new Map<string, Signed<'AnswerReveal'>>()
  private verdicts: { list: Verdict[]; salt: string; commit: Signed<'VerdictCommit'> } | undefined
  private judgeRequested = false

  /**
   * Checks a verified Query (its round id must be the one its body determines; its coordinator
   * sequence must exceed the last seen from that coordinator) and, if `join`, joins it.
   */
  static fromQuery(ctx: ParticipantContext, query: Signed<'Query'>, lastCoordSeq: number | undefined) {
    const { env } = query
    if (env.type !== 'Query') throw new ProtocolError('WRONG_PHASE', 'not a Query')
    if (roundIdOf(env.from, env.body) !== env.round)
      throw new ProtocolError('BAD_ROUND_ID', 'round id does not match the query')
    if (lastCoordSeq !== undefined && env.body.coordSeq <= lastCoordSeq) {
      throw new ProtocolError(
        'STALE_SEQUENCE',
        `coordinator sequence ${env.body.coordSeq} is not above ${lastCoordSeq}`,
      )
    }
    const { minMembers, maxMembers, deadlines: d } = env.body
    if (
      minMembers > maxMembers ||
      !(
        d.join <= d.commit &&
        d.commit <= d.reveal &&
        d.reveal <= d.verdictCommit &&
        d.verdictCommit <= d.verdictReveal
      )
    ) {
      throw new ProtocolError('SCHEMA', 'inconsistent member bounds or deadlines')
    }
    return new ParticipantRound(ctx, query)
  }

  private constructor(
    private readonly ctx: ParticipantContext,
    query: Signed<'Query'>,
  ) {
    this.roundId = query.env.round
    this.coordinator = query.env.from
    this.body = query.env.body
  }

  /** Sends the Join (the runtime's participation policy has already said yes). */
  start(): ParticipantEffect[] {
    this.join = this.sign('Join', { ticket: this.body.ticket })
    return [{ kind: 'send', to: this.coordinator, msg: this.join }]
  }

  apply(msg: Signed): ParticipantEffect[] {
    const { env } = msg
    if (env.round !== this.roundId) throw new ProtocolError('WRONG_ROUND', 'message for another round')
    if (this.phase === 'finished') throw new ProtocolError('WRONG_PHASE', 'round already finished here')
    if (env.type === 'AnswerReveal') return this.onForwarded(msg as Signed<'AnswerReveal'>)
    if (env.from !== this.coordinator)
      throw new ProtocolError('WRONG_SENDER', `${env.type} not from the round's coordinator`)
    switch (env.type) {
      case 'Members':
        return this.onMembers(msg as Signed<'Members'>)
      case 'CommitsSealed':
        return this.onCommitsSealed(msg as Signed<'CommitsSealed'>)
      case 'RevealsSealed':
        return this.onRevealsSealed(msg as Signed<'RevealsSealed'>)
      case 'VerdictCommitsSealed':
        return this.onVerdictCommitsSealed(msg as Signed<'VerdictCommitsSealed'>)
      default:
        throw new ProtocolError('WRONG_PHASE', `${env.type} is not for members`)
    }
  }

  /**
   * The time by which the coordinator's next message is due. Silence past it means this node was
   * censored (no member seal) or dropped; `tick` ends the round here then.
   */
  nextDeadline(): number | undefined {
    const d = this.body.deadlines
    switch (this.phase) {
      case 'joined':
        return d.commit
      case 'answering':
      case 'committed':
        return d.reveal
      case 'revealed':
        return d.verdictCommit
      case 'judging':
      case 'verdictCommitted':
        return d.verdictReveal
      default:
        return undefined
    }
  }

  tick(now: number): ParticipantEffect[] {
    const due = this.nextDeadline()
    if (due === undefined || now < due) return []
    return this.phase === 'joined'
      ? this.finish('censored', 'no member seal arrived before the commit deadline')
      : this.finish('dropped', `nothing from the coordinator while ${this.phase}`)
  }

  /** The model's answer, with a fresh 32-byte salt. */
  answered(text: string, salt: string): ParticipantEffect[] {
    if (this.phase !== 'answering') return []
    const commit = this.sign('AnswerCommit', {
      c: commitment(this.roundId, this.ctx.identity.id, text, salt),
    })
    this.answer = { text, salt, commit }
    this.phase = 'committed'
    return [{ kind: 'send', to: this.coordinator, msg: commit }]
  }

  /** The model's verdicts on exactly the judge tasks it was given, in order, with a fresh salt. */
  judged(verdicts: Verdict[], salt: string): ParticipantEffect[] {
    if (this.phase !== 'judging') return []
    const commit = this.sign('VerdictCommit', {
      c: commitment(this.roundId, this.ctx.identity.id, verdictPayload(verdicts), salt),
    })
    this.verdicts = { list: verdicts, salt, commit }
    this.phase = 'verdictCommitted'
    return [{ kind: 'send', to: this.coordinator, msg: commit }]
  }

  private expect(phase: ParticipantPhase, type: MessageType): void {
    if (this.phase !== phase) throw new ProtocolError('WRONG_PHASE', `${type} arrived in phase ${this.phase}`)
  }

  private onMembers(msg: Signed<'Members'>): ParticipantEffect[] {
    this.expect('joined', 'Members')
    const me = this.ctx.identity.id
    const joins = msg.env.body.joins
    if (!isSortedUnique(joins)) throw new ProtocolError('BAD_SEAL', 'seal entries not sorted and unique')
    if (!sealHas(joins, me, this.join!.hash))
      return this.finish('censored', 'our Join is not in the sealed member set')
    const members = selectMembers(
      this.roundId,
      sealMembers(joins),
      this.body.maxMembers,
    )
    if (!members.includes(me)) return this.finish('not-selected')
    this.phase = 'answering'
    return [{ kind: 'generate', query: this.body }]
  }

  private onCommitsSealed(msg: Signed<'CommitsSealed'>): ParticipantEffect[] {
    if (this.phase === 'answering')
      return this.finish('dropped', 'commits sealed before our answer was ready')
    this.expect('committed', 'CommitsSealed')
    const { commits, r0 } = msg.env.body
    if (secretCommitment(r0) !== this.body.c0)
      return this.finish('coordinator-misbehaved', 'r0 does not open the Query commitment c0')
    if (!isSortedUnique(commits)) throw new ProtocolError('BAD_SEAL', 'seal entries not sorted and unique')
    if (!sealHas(commits, this.ctx.identity.id, this.answer!.commit.hash))
      return this.finish('dropped', 'our commit is not sealed')
    this.sealedCommits = commits
    this.r0 = r0
    this.phase = 'revealed'
    const reveal = this.sign('AnswerReveal', { answer: this.answer!.text, salt: this.answer!.salt })
    return [{ kind: 'send', to: this.coordinator, msg: reveal }]
  }

  private onRevealsSealed(msg: Signed<'RevealsSealed'>): ParticipantEffect[] {
    this.expect('revealed', 'RevealsSealed')
    const reveals = msg.env.body.reveals
    if (!isSortedUnique(reveals)) throw new ProtocolError('BAD_SEAL', 'seal entries not sorted and unique')
    this.sealedReveals = reveals
    const seed = assignmentSeed(this.roundId, this.sealedCommits, this.body.ledgerHead, this.r0)
    const mine = judgingTasks(sealMembers(reveals), this.ctx.ledger, seed, this.ctx.identity.id)
    if (mine.length === 0) return this.finish('no-tasks')
    this.tasks = mine
    this.phase = 'judging'
    for (const [from, fwd] of this.forwarded)
      if (!sealHas(reveals, from, fwd.hash)) this.forwarded.delete(from)
    return this.tryJudge()
  }

  private onForwarded(msg: Signed<'AnswerReveal'>): ParticipantEffect[] {
    const from = msg.env.from
    if (this.phase === 'judging') {
      if (!sealHas(this.sealedReveals, from, msg.hash))
        throw new ProtocolError('BAD_SEAL', 'forwarded answer is not the sealed one')
    } else if (this.phase !== 'revealed' || this.forwarded.size >= this.body.maxMembers) {
      throw new ProtocolError('WRONG_PHASE', 'forwarded answer outside judging')
    }
    this.forwarded.set(from, msg)
    return this.phase === 'judging' ? this.tryJudge() : []
  }

  private tryJudge(): ParticipantEffect[] {
    if (this.judgeRequested) return []
    const tasks: JudgeTask[] = []
    for (const t of this.tasks) {
      const a = this.forwarded.get(t.a)
      const b = this.forwarded.get(t.b)
      if (a === undefined || b === undefined) return []
      tasks.push({ ...t, first: a.env.body.answer, second: b.env.body.answer })
    }
    this.judgeRequested = true
    return [{ kind: 'judge', query: this.body, tasks }]
  }

  private onVerdictCommitsSealed(msg: Signed<'VerdictCommitsSealed'>): ParticipantEffect[] {
    this.expect('verdictCommitted', 'VerdictCommitsSealed')
    const commits = msg.env.body.commits
    if (!sealHas(commits, this.ctx.identity.id, this.verdicts!.commit.hash))
      return this.finish('dropped', 'our verdict commit is not sealed')
    const reveal = this.sign('VerdictReveal', { verdicts: this.verdicts!.list, salt: this.verdicts!.salt })
    return [{ kind: 'send', to: this.coordinator, msg: reveal }, ...this.finish('done')]
  }

  private finish(reason: FinishReason, detail?: string): ParticipantEffect[] {
    this.phase = 'finished'
    return [detail === undefined ? { kind: 'finished', reason } : { kind: 'finished', reason, detail }]
  }

  private sign<T extends MessageType>(type: T, body: BodyOf<T>): Signed<T> {
    return signEnvelope(
      this.ctx.identity,
      { type, round: this.roundId, seq: this.seq++, body },
      this.ctx.meter,
    )
  }
}


