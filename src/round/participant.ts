import type { Judgement } from '../consensus/assignment.js'
import { commitment } from '../crypto/commitment.js'
import type { Identity } from '../crypto/identity.js'
import { type CryptoMeter, type Signed, signEnvelope } from '../protocol/envelope.js'
import { ProtocolError } from '../protocol/errors.js'
import { BEACON_RULES, checkRulesLive } from '../protocol/rulesVersions.js'
import type { BodyOf, MessageType, QueryBody, TokenCount, Verdict } from '../protocol/messages.js'
import { isSortedUnique, sealHas, sealMembers } from '../protocol/seal.js'
import type { LedgerView } from './ledgerView.js'
import { judgingTasks } from './outcome.js'
import { assignmentSeed, beaconSeed, promptHash, roundIdOf, secretCommitment, selectMembers, verdictPayload } from './rules.js'
import { beaconFollows, type RoundBeacon } from './beacons.js'

/**
 * A member's side of one round as a state machine: no I/O, no clock. Model work is requested with
 * `generate` and `judge` effects and its result fed back through `answered` / `judged` (with the
 * salt, so randomness is injected too). Coordinator messages arrive signature-checked by the
 * runtime; this machine checks everything else it relies on: that seals list its own messages, that
 * r₀ opens c₀, that forwarded answers are the sealed ones.
 *
 * Liveness: in every phase the machine names the time by which the coordinator's next message is
 * due (`nextDeadline`, the Query's deadline for it plus `graceMs` for clock skew and transit), and
 * `tick` past it ends the round here. So a member leaves every round by the Query's last deadline
 * plus the grace, whatever the coordinator does. A member whose answer was sealed waits for the
 * coordinator's `RoundEnded`: every member hears how its round ended.
 */
/** What a member reports when its backend says nothing about tokens. */
const NO_TOKENS: TokenCount = { prompt: 0, completion: 0 }

export type ParticipantPhase =
  | 'joined'
  | 'answering'
  | 'committed'
  | 'revealed'
  | 'judging'
  | 'verdictCommitted'
  | 'awaitingResult'
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
  | { kind: 'finished'; reason: FinishReason; detail?: string; won?: boolean }

export type FinishReason =
  | 'not-selected'
  | 'censored'
  | 'dropped'
  | 'coordinator-misbehaved'
  | 'abandoned'
  | 'no-result'
  | 'done'

export interface ParticipantContext {
  identity: Identity
  ledger: LedgerView
  meter?: CryptoMeter
  /** Allowance past each Query deadline for clock skew and transit (default 2 s). */
  graceMs?: number
}

export const DEFAULT_GRACE_MS = 2_000

export class ParticipantRound {
  private state: ParticipantPhase = 'joined'
  readonly roundId: string
  readonly coordinator: string
  readonly body: QueryBody
  /** The Query as signed (rules 3: the ledger locks a ticket against it). */
  readonly query: Signed<'Query'>
  private readonly graceMs: number
  private seq = 0
  private join: Signed<'Join'> | undefined
  private answer: { text: string; salt: string; commit: Signed<'AnswerCommit'>; usage: TokenCount } | undefined
  private reveal: Signed<'AnswerReveal'> | undefined
  /** CommitsSealed's and RevealsSealed's packed lists, as signed. */
  private sealedCommits = ''
  private sealedReveals = ''
  private r0 = ''
  private tasks: Judgement[] = []
  /** Forwarded answers this judge will read, all of them sealed. */
  private readonly forwarded = new Map<string, Signed<'AnswerReveal'>>()
  /** Forwarded answers that came before RevealsSealed, until it says which are genuine. */
  private readonly early = new Map<string, Signed<'AnswerReveal'>>()
  private verdicts: { list: Verdict[]; salt: string; commit: Signed<'VerdictCommit'>; usage: TokenCount } | undefined
  private judgeRequested = false
  /** A private round's prompt, once the coordinator sent it (it opens the Query's hash). */
  private prompt: QueryBody['messages'] | undefined

  /**
   * Checks a verified Query (its round id must be the one its body determines; it must not come
   * from a session of its coordinator older than one already seen, `sessionStart` being the
   * highest `since` seen from it; its deadlines must be in order) and builds the machine. Whether
   * to join is the runtime's policy; `start` joins.
   */
  static fromQuery(ctx: ParticipantContext, query: Signed<'Query'>, sessionStart: number | undefined) {
    checkQuery(query, sessionStart)
    return new ParticipantRound(ctx, query)
  }

  private constructor(
    private readonly ctx: ParticipantContext,
    query: Signed<'Query'>,
  ) {
    this.roundId = query.env.round
    this.coordinator = query.env.from
    this.body = query.env.body
    this.query = query
    this.graceMs = ctx.graceMs ?? DEFAULT_GRACE_MS
  }

  get phase(): ParticipantPhase {
    return this.state
  }

  /** Sends the Join (the runtime's participation policy has already said yes). */
  start(): ParticipantEffect[] {
    this.join = this.sign('Join', { ticket: this.body.ticket })
    return [{ kind: 'send', to: this.coordinator, msg: this.join }]
  }

  apply(msg: Signed): ParticipantEffect[] {
    const { env } = msg
    if (env.round !== this.roundId) throw new ProtocolError('WRONG_ROUND', 'message for another round')
    if (this.state === 'finished') throw new ProtocolError('WRONG_PHASE', 'round already finished here')
    if (env.type === 'AnswerReveal') return this.onForwarded(msg as Signed<'AnswerReveal'>)
    if (env.from !== this.coordinator)
      throw new ProtocolError('WRONG_SENDER', `${env.type} not from the round's coordinator`)
    switch (env.type) {
      case 'Members':
        return this.onMembers(msg as Signed<'Members'>)
      case 'Prompt':
        return this.onPrompt(msg as Signed<'Prompt'>)
      case 'CommitsSealed':
        return this.onCommitsSealed(msg as Signed<'CommitsSealed'>)
      case 'RevealsSealed':
        return this.onRevealsSealed(msg as Signed<'RevealsSealed'>)
      case 'VerdictCommitsSealed':
        return this.onVerdictCommitsSealed(msg as Signed<'VerdictCommitsSealed'>)
      case 'RoundEnded':
        return this.onEnded(msg as Signed<'RoundEnded'>)
      default:
        throw new ProtocolError('WRONG_PHASE', `${env.type} is not for members`)
    }
  }

  /**
   * The time by which the coordinator's next message is due: the Query's deadline for the seal
   * that ends the current phase, plus the grace. Silence past it means this node was censored (no
   * member seal) or dropped; `tick` ends the round here then. Undefined only once finished.
   */
  nextDeadline(): number | undefined {
    const d = this.body.deadlines
    switch (this.state) {
      case 'joined':
        return d.join + this.graceMs
      case 'answering':
      case 'committed':
        return d.commit + this.graceMs
      case 'revealed':
        return d.reveal + this.graceMs
      case 'judging':
      case 'verdictCommitted':
        return d.verdictCommit + this.graceMs
      case 'awaitingResult':
        return d.verdictReveal + this.graceMs
      case 'finished':
        return undefined
    }
  }

  tick(now: number): ParticipantEffect[] {
    const due = this.nextDeadline()
    if (due === undefined || now < due) return []
    switch (this.state) {
      case 'joined':
        return this.finish('censored', 'no member seal arrived by the join deadline')
      case 'awaitingResult':
        return this.finish('no-result', 'the coordinator sent no Result by the last deadline')
      default:
        return this.finish('dropped', `nothing from the coordinator while ${this.state}`)
    }
  }

  /** The model's answer, with a fresh 32-byte salt. */
  answered(text: string, salt: string, usage: TokenCount = NO_TOKENS): ParticipantEffect[] {
    if (this.state !== 'answering') return []
    const commit = this.sign('AnswerCommit', {
      c: commitment(this.roundId, this.ctx.identity.id, text, salt),
    })
    this.answer = { text, salt, commit, usage }
    this.state = 'committed'
    return [{ kind: 'send', to: this.coordinator, msg: commit }]
  }

  /** The model's verdicts on exactly the judge tasks it was given, in order, with a fresh salt. */
  judged(verdicts: Verdict[], salt: string, usage: TokenCount = NO_TOKENS): ParticipantEffect[] {
    if (this.state !== 'judging') return []
    const commit = this.sign('VerdictCommit', {
      c: commitment(this.roundId, this.ctx.identity.id, verdictPayload(verdicts), salt),
    })
    this.verdicts = { list: verdicts, salt, commit, usage }
    this.state = 'verdictCommitted'
    return [{ kind: 'send', to: this.coordinator, msg: commit }]
  }

  private expect(phase: ParticipantPhase, type: MessageType): void {
    if (this.state !== phase) throw new ProtocolError('WRONG_PHASE', `${type} arrived in phase ${this.state}`)
  }

  private onMembers(msg: Signed<'Members'>): ParticipantEffect[] {
    this.expect('joined', 'Members')
    const me = this.ctx.identity.id
    const joins = msg.env.body.joins
    if (!isSortedUnique(joins)) throw new ProtocolError('BAD_SEAL', 'seal entries not sorted and unique')
    if (!sealHas(joins, me, this.join!.hash))
      return this.finish('censored', 'our Join is not in the sealed member set')
    const beacon = this.beaconOf(msg.env.body.beacon)
    const members = selectMembers(
      this.roundId,
      sealMembers(joins),
      this.body.maxMembers,
      beacon,
    )
    if (!members.includes(me)) return this.finish('not-selected')
    this.state = 'answering'
    // A private round's prompt follows the seal (or came just before it).
    return this.body.prompt !== undefined && this.prompt === undefined ? [] : [{ kind: 'generate', query: this.asked() }]
  }

  /** A private round's prompt: it must open the Query's hash; only members are sent one. */
  private onPrompt(msg: Signed<'Prompt'>): ParticipantEffect[] {
    const p = this.body.prompt
    if (p === undefined) throw new ProtocolError('WRONG_PHASE', 'a Prompt in a round whose Query carries its messages')
    if (this.prompt !== undefined) throw new ProtocolError('DUPLICATE', 'the prompt came already')
    if (this.state !== 'joined' && this.state !== 'answering') throw new ProtocolError('WRONG_PHASE', `Prompt arrived in phase ${this.state}`)
    const { messages, salt } = msg.env.body
    if (promptHash(messages, salt) !== p.hash) return this.finish('coordinator-misbehaved', "the Prompt does not open the Query's prompt hash")
    this.prompt = messages
    return this.state === 'answering' ? [{ kind: 'generate', query: this.asked() }] : []
  }

  /** The Query as its model sees it: a private round's with the prompt its members were sent. */
  private asked(): QueryBody {
    return this.prompt === undefined ? this.body : { ...this.body, messages: this.prompt }
  }

  /**
   * The beacon a seal quotes: required from rules 2 on, absent before. A member checks it against
   * the newest beacon its ledger had issued by the Query's head (the standing carries it): the
   * quoted one must come later on the same chain and hash back to it. One it cannot check that way
   * (a new chain since) it takes as quoted; `verify` and settlement check it against the ledger.
   */
  private beaconOf(quoted: RoundBeacon | undefined): string | undefined {
    const wanted = this.body.rules.version >= BEACON_RULES
    if (wanted !== (quoted !== undefined)) throw new ProtocolError('BAD_SEAL', wanted ? 'the seal quotes no beacon (rules 2 on need one)' : 'a beacon in a seal of rules 1')
    const atHead = this.ctx.ledger.beaconAtHead?.()
    if (quoted !== undefined && atHead !== undefined && beaconFollows(quoted, atHead) === false) {
      throw new ProtocolError('BAD_SEAL', 'the seal quotes a beacon the ledger did not issue after the round began')
    }
    return quoted?.value
  }

  private onCommitsSealed(msg: Signed<'CommitsSealed'>): ParticipantEffect[] {
    if (this.state === 'answering')
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
    this.state = 'revealed'
    this.reveal = this.sign('AnswerReveal', { answer: this.answer!.text, salt: this.answer!.salt, usage: this.answer!.usage })
    return [{ kind: 'send', to: this.coordinator, msg: this.reveal }]
  }

  private onRevealsSealed(msg: Signed<'RevealsSealed'>): ParticipantEffect[] {
    this.expect('revealed', 'RevealsSealed')
    const reveals = msg.env.body.reveals
    if (!isSortedUnique(reveals)) throw new ProtocolError('BAD_SEAL', 'seal entries not sorted and unique')
    if (!sealHas(reveals, this.ctx.identity.id, this.reveal!.hash)) return this.finish('dropped', 'our reveal is not sealed')
    this.sealedReveals = reveals
    const beacon = this.beaconOf(msg.env.body.beacon)
    const seed = beacon === undefined ? assignmentSeed(this.roundId, this.sealedCommits, this.body.ledgerHead, this.r0) : beaconSeed(this.roundId, this.sealedCommits, this.body.ledgerHead, beacon)
    const mine = judgingTasks(sealMembers(reveals), this.ctx.ledger, seed, this.ctx.identity.id)
    this.forwarded.clear()
    if (mine.length === 0) {
      // Nothing to judge here (or the round is too small to rank): wait for the Result.
      this.state = 'awaitingResult'
      return []
    }
    this.tasks = mine
    this.state = 'judging'
    for (const [from, fwd] of this.early)
      if (sealHas(reveals, from, fwd.hash)) this.forwarded.set(from, fwd)
    this.early.clear()
    return this.tryJudge()
  }

  /**
   * A member's reveal, forwarded by the coordinator for judging. One may arrive before
   * RevealsSealed (messages to one peer keep their order, but a coordinator may forward as soon as
   * it seals): it waits in `early`, bounded by maxMembers, until the seal says whether it counts.
   */
  private onForwarded(msg: Signed<'AnswerReveal'>): ParticipantEffect[] {
    const from = msg.env.from
    if (this.state === 'judging') {
      if (!sealHas(this.sealedReveals, from, msg.hash))
        throw new ProtocolError('BAD_SEAL', 'forwarded answer is not the sealed one')
      this.forwarded.set(from, msg)
      return this.tryJudge()
    }
    if (this.state !== 'revealed' || this.early.size >= this.body.maxMembers)
      throw new ProtocolError('WRONG_PHASE', 'forwarded answer outside judging')
    this.early.set(from, msg)
    return []
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
    return [{ kind: 'judge', query: this.asked(), tasks }]
  }

  private onVerdictCommitsSealed(msg: Signed<'VerdictCommitsSealed'>): ParticipantEffect[] {
    if (this.state === 'judging') return this.finish('dropped', 'verdict commits sealed before our verdicts were ready')
    this.expect('verdictCommitted', 'VerdictCommitsSealed')
    const commits = msg.env.body.commits
    if (!sealHas(commits, this.ctx.identity.id, this.verdicts!.commit.hash))
      return this.finish('dropped', 'our verdict commit is not sealed')
    const reveal = this.sign('VerdictReveal', { verdicts: this.verdicts!.list, salt: this.verdicts!.salt, usage: this.verdicts!.usage })
    this.state = 'awaitingResult'
    return [{ kind: 'send', to: this.coordinator, msg: reveal }]
  }

  /** The coordinator ended the round: with a Result (done), or giving up on it (abandoned). */
  private onEnded(msg: Signed<'RoundEnded'>): ParticipantEffect[] {
    const { reason } = msg.env.body
    if (reason !== 'done') return this.finish('abandoned', reason)
    if (this.state === 'awaitingResult') {
      this.state = 'finished'
      return [{ kind: 'finished', reason: 'done', won: msg.env.body.winner === this.ctx.identity.id }]
    }
    if (this.state === 'joined' || this.state === 'answering' || this.state === 'committed')
      throw new ProtocolError('WRONG_PHASE', `a Result before our answer was sealed (phase ${this.state})`)
    return this.finish('dropped', `the round ended while ${this.state}`)
  }

  private finish(reason: FinishReason, detail?: string): ParticipantEffect[] {
    this.state = 'finished'
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



/** A Query a member can act on: its id is the one its body fixes, and its numbers are coherent. */
export function checkQuery(query: Signed<'Query'>, sessionStart: number | undefined): void {
  const { env } = query
  if (env.type !== 'Query') throw new ProtocolError('WRONG_PHASE', 'not a Query')
  if (roundIdOf(env.from, env.body) !== env.round)
    throw new ProtocolError('BAD_ROUND_ID', 'round id does not match the query')
  // Queries of one session may arrive in any order (gossip validates them concurrently); a Query
  // from before the coordinator's latest restart is void, as its `since` said.
  if (sessionStart !== undefined && env.body.coordSeq < sessionStart) {
    throw new ProtocolError('STALE_SEQUENCE', `coordinator sequence ${env.body.coordSeq} is from before its restart at ${sessionStart}`)
  }
  const { minMembers, maxMembers, deadlines: d, since, coordSeq, issuedAt } = env.body
  // A round by rules this node does not know, or no longer runs, is refused with the reason.
  checkRulesLive(env.body.rules)
  if (minMembers > maxMembers) throw new ProtocolError('BAD_QUERY', 'minMembers exceeds maxMembers')
  if ((env.body.prompt === undefined) !== (env.body.messages.length > 0)) throw new ProtocolError('BAD_QUERY', env.body.prompt === undefined ? 'a Query without messages or a prompt hash' : 'a private Query that carries its messages too')
  if (since > coordSeq) throw new ProtocolError('BAD_QUERY', 'since is above the query sequence')
  if (!(issuedAt <= d.join && d.join <= d.commit && d.commit <= d.reveal && d.reveal <= d.verdictCommit && d.verdictCommit <= d.verdictReveal)) {
    throw new ProtocolError('BAD_QUERY', 'deadlines out of order')
  }
}
