import type { Identity, PublicKeyCache } from '../crypto/identity.js'
import { type JudgeReply, type ModelBackend, samplingOf } from '../models/backend.js'
import type { CryptoMeter, Signed } from '../protocol/envelope.js'
import { ProtocolError } from '../protocol/errors.js'
import { BP, MAX_ANSWER_CHARS, MAX_DOMAINS, MAX_EVIDENCE, MAX_TOKENS_REPORTED, QUERY_TOPIC } from '../protocol/limits.js'
import type { AnswerSpec } from '../consensus/answerTypes.js'
import type { JudgeEvidence, NodeTools } from './tools/nodeTools.js'
import { LOCKED_JOIN_RULES, PREFILTER_RULES } from '../protocol/rulesVersions.js'
import { MARK_FIRST, MARK_SECOND } from '../consensus/prefilter.js'
import { notGenuine } from '../protocol/genuine.js'
import type { ChatMessage, NodeStatusBody, QueryBody, Verdict, TokenCount } from '../protocol/messages.js'
import type { NetworkLedger } from '../ledger/networkLedger.js'
import type { Standing } from '../ledger/standing.js'
import { checkQuery, type FinishReason, type JudgeTask, type ParticipantEffect, ParticipantRound } from '../round/participant.js'
import { questionText } from '../round/rules.js'
import { BoundedMap } from '../runtime/boundedMap.js'
import { type Clock, systemClock } from '../runtime/clock.js'
import { MessageIntake, type Verification } from '../runtime/intake.js'
import { type HostedRound, RoundHost } from '../runtime/roundHost.js'
import { randomSalt, type SaltSource } from '../runtime/salt.js'
import type { Transport, Validation } from '../transport/transport.js'
import { DECLINE_REASONS, DEFAULT_LIMITS, type DeclineReason, declineReason, type GovernedTerms, ledgerDeclineReason, type ParticipationLimits } from './participation.js'

/**
 * The node daemon: listens for Queries on gossip, decides whether to take part (participation.ts),
 * and drives one ParticipantRound per round through the shared RoundHost, calling its model for
 * answers and verdicts. Every round it holds ends by the Query's last deadline plus a grace: the
 * machine always names its next deadline and the host ticks it there, and a round's model calls are
 * aborted when it ends. A restarted coordinator's old rounds are dropped as soon as its first new
 * Query says so (`since`).
 */
export interface NodeInit {
  identity: Identity
  backend: ModelBackend
  /** The network's ledger (standing at each Query's head), or a fixed view (`fixedLedger`). */
  ledger: NetworkLedger
  /** Capacity, per-coordinator bound, deadline horizon, allow-list (defaults: participation.ts). */
  limits?: Partial<ParticipationLimits>
  /** Participation policy beyond the limits (model health, domains); default: take every round. */
  wantsRound?: (query: QueryBody) => boolean
  /** The domains the node declares in its status reports (its policy decides what it joins). */
  domains?: readonly string[]
  /** Tools around the model (node/tools): pre- and post-processing of answers, evidence for judging. */
  tools?: NodeTools
  /**
   * The GOOD/BAD prefilter (rules 4 on): as a judge, mark each answer that is plainly not a genuine
   * attempt (protocol/genuine.ts) and decide its pairs without the model. Default on; off for models
   * that say nothing meaningful (tiny generated ones), whose every answer it would mark.
   */
  prefilter?: boolean
  /** Allowance past each deadline for clock skew (default: the participant's 2 s). */
  graceMs?: number
}

export interface NodeComponents {
  transport: Transport
  clock?: Clock
  salt?: SaltSource
  meter?: CryptoMeter
  verification?: Verification
  keys?: PublicKeyCache
  /** Told about each contained bug (logging). */
  onBug?: (err: unknown) => void
}

/** How a round ended here: the machine's reasons, or the runtime's. */
export type EndReason = FinishReason | 'superseded' | 'stopped' | 'unlocked'

export type RoundEnd = { round: string; reason: EndReason; detail?: string }

export class NodeDaemon {
  readonly intake: MessageIntake
  readonly limits: ParticipationLimits
  /** The terms governance has in force, where the node follows a custody chain. */
  private governed: GovernedTerms | undefined
  /** Rounds this node chose not to join, by reason. */
  readonly declined = new Map<DeclineReason, number>()
  /** Rounds this node left, by how they ended. */
  readonly ended = new Map<EndReason, number>()
  private wins = 0
  /** Errors from the model or the transport, kept for inspection (bounded). */
  readonly errors: string[] = []
  private readonly host: RoundHost<ParticipantRound, ParticipantEffect>
  /** Where each coordinator's current session began (its highest `since`), bounded: one entry per key that wrote to us. */
  private readonly sessions = new BoundedMap<string, number>(4096)
  /** Rounds that ended here recently, oldest first: a replayed Query for one is not a new round. */
  private readonly recent = new BoundedMap<string, RoundEnd>(1024)
  /** Rounds waiting for the ledger standing their Query names (bounded by capacity: they count as held). */
  private readonly pending = new Set<string>()
  /** Why the ledger refused this node's own ticket lock, by round, until the round ends. */
  private readonly lockRefusals = new Map<string, string>()
  private readonly clock: Clock
  private readonly salt: SaltSource
  private unsubscribe: (() => void) | undefined

  constructor(
    private readonly init: NodeInit,
    private readonly components: NodeComponents,
  ) {
    this.intake = new MessageIntake({ ...components, onBug: components.onBug })
    this.clock = components.clock ?? systemClock
    this.salt = components.salt ?? randomSalt
    this.limits = { ...DEFAULT_LIMITS, ...init.limits }
    this.host = new RoundHost({
      clock: this.clock,
      perform: (round, effects) => this.perform(round, effects),
      onReject: (err) => this.intake.reject(err),
      onBug: (err) => this.intake.bug(err),
    })
  }

  get id(): string {
    return this.init.identity.id
  }

  get activeRounds(): number {
    return this.host.size
  }

  /** Finished rounds whose Result chose this node's answer (as the coordinator's RoundEnded says). */
  get roundsWon(): number {
    return this.wins
  }

  /** What this node reports about itself (NodeStatus, without its time). */
  status(backend: string): Omit<NodeStatusBody, 'at'> {
    const declined = Object.fromEntries(DECLINE_REASONS.map((r) => [r, this.declined.get(r) ?? 0])) as NodeStatusBody['declined']
    let rejected = 0
    for (const n of this.intake.rejections.values()) rejected += n
    const domains = this.init.domains
    return { backend: backend.slice(0, 200), capacity: this.limits.capacity, perCoordinator: this.limits.perCoordinator, active: this.host.size, declined, rejected, ...(domains && domains.length > 0 ? { domains: domains.slice(0, MAX_DOMAINS).map((d) => d.slice(0, 64)) } : {}) }
  }

  /** The most recent round endings, newest last. */
  get recentEnds(): readonly RoundEnd[] {
    return [...this.recent.values()]
  }

  start(): void {
    const t = this.components.transport
    t.subscribe(QUERY_TOPIC, (data) => this.screenQuery(data))
    this.unsubscribe = t.onMessage((m) => {
      if (m.topic === undefined || m.topic === QUERY_TOPIC) this.intake.submit(m.data, (msg) => this.onMessage(msg), m.report)
    })
  }

  async stop(): Promise<void> {
    this.unsubscribe?.()
    for (const r of [...this.host.values()]) this.end(r, 'stopped')
  }

  /**
   * The gossip validator: a Query that is forged, malformed or incoherent is rejected (its sender
   * is penalised and it goes no further); one already past its join deadline is ignored (not
   * forwarded, no penalty). Anything else is forwarded, even if this node will decline it.
   */
  private async screenQuery(data: Uint8Array): Promise<Validation> {
    try {
      const msg = await this.intake.screen(data)
      if (msg.env.type !== 'Query') throw new ProtocolError('WRONG_PHASE', `${msg.env.type} is not gossiped`)
      checkQuery(msg as Signed<'Query'>, undefined)
      if (this.clock.now() >= (msg as Signed<'Query'>).env.body.deadlines.join) throw new ProtocolError('EXPIRED', 'the join deadline has passed')
      // On a ledger, gossip carries only registered gateways' Queries: a stranger's spam stops at
      // the first node (ignored, not penalised: a gateway registered a moment ago may not be in
      // this node's newest standing yet).
      if (this.unregistered(msg.env.from)) {
        this.decline('unregistered')
        return 'ignore'
      }
      return 'accept'
    } catch (err) {
      this.intake.reject(err)
      return err instanceof ProtocolError ? err.action : 'ignore'
    }
  }

  private onMessage(msg: Signed): void {
    if (msg.env.type === 'Query') return this.onQuery(msg as Signed<'Query'>)
    const round = this.host.get(msg.env.round)
    if (round === undefined) throw new ProtocolError('WRONG_ROUND', 'not in this round')
    this.host.deliver(round, msg, (m, x) => m.apply(x))
  }

  private onQuery(msg: Signed<'Query'>): void {
    const { env } = msg
    if (this.host.has(env.round) || this.recent.has(env.round) || this.pending.has(env.round)) throw new ProtocolError('REPLAY', 'a Query for a round already seen')
    checkQuery(msg, this.sessions.get(env.from))
    if (env.body.since > (this.sessions.get(env.from) ?? -1)) {
      this.sessions.set(env.from, env.body.since)
      this.dropVoided(env.from, env.body.since)
    }
    const reason =
      declineReason(env.from, env.body, this.clock.now(), this.held(env.from), this.limits) ??
      (this.init.wantsRound !== undefined && !this.init.wantsRound(env.body) ? 'policy' : undefined)
    if (reason !== undefined) return this.decline(reason)
    // Checked before the head is looked up: a stranger's made-up heads cost the ledger nothing.
    if (this.unregistered(env.from)) return this.decline('unregistered')
    const standing = this.init.ledger.at(env.body.ledgerHead)
    if (!(standing instanceof Promise)) return this.admit(msg, standing)
    // A head this node has not seen: fetched once (the round waits in `pending`, so a copy of the
    // Query arriving meanwhile is a replay, not a second fetch).
    this.pending.add(env.round)
    standing.then(
      (s) => {
        this.pending.delete(env.round)
        try {
          this.admit(msg, s)
        } catch (err) {
          // As the intake would have: a protocol error counts against the sender, anything else is a bug.
          this.intake.reject(err)
        }
      },
      () => {
        this.pending.delete(env.round)
        this.decline('ledger')
      },
    )
  }

  /** Follows the terms governance voted (parameterWatch.ts): Queries from now on must meet them. */
  govern(terms: GovernedTerms): void {
    this.governed = terms
  }

  /** Joins a round whose ledger standing is known (undefined: its head is not one the ledger had). */
  private admit(msg: Signed<'Query'>, standing: Standing | undefined): void {
    const { env } = msg
    const ledger = this.init.ledger
    if (standing === undefined) return this.decline('ledger')
    // Checked again: capacity may have gone while the standing was fetched.
    const reason =
      declineReason(env.from, env.body, this.clock.now(), this.held(env.from), this.limits) ??
      // Tickets and deposits are counted over the rounds held, not those still waiting for their standing.
      (ledger.metered ? ledgerDeclineReason(this.id, env.from, env.body, { total: this.host.size, fromCoordinator: this.heldFrom(env.from) }, standing, ledger.latest(), { minFee: this.limits.minFee, ...(this.governed ? { governed: this.governed } : {}) }) : standing.eligible(this.id) ? undefined : 'ineligible')
    if (reason !== undefined) return this.decline(reason)
    const round = ParticipantRound.fromQuery(
      { identity: this.init.identity, ledger: standing, meter: this.components.meter, ...(this.init.graceMs === undefined ? {} : { graceMs: this.init.graceMs }) },
      msg,
      this.sessions.get(env.from),
    )
    const hosted = this.host.add(round)
    this.host.step(hosted, (m) => m.start())
  }

  /** On a ledger: a coordinator that is no registered gateway in the newest standing this node knows. */
  private unregistered(coordinator: string): boolean {
    return this.init.ledger.metered && this.init.ledger.latest().deposit(coordinator) === undefined
  }

  private decline(reason: DeclineReason): void {
    this.declined.set(reason, (this.declined.get(reason) ?? 0) + 1)
  }

  private held(coordinator: string): { total: number; fromCoordinator: number } {
    return { total: this.host.size + this.pending.size, fromCoordinator: this.heldFrom(coordinator) }
  }

  /** A coordinator that restarted says which of its rounds are void: they end here now. */
  private dropVoided(coordinator: string, since: number): void {
    for (const r of [...this.host.values()]) {
      if (r.machine.coordinator === coordinator && r.machine.body.coordSeq < since) {
        this.end(r, 'superseded', 'its coordinator restarted')
      }
    }
  }

  private heldFrom(coordinator: string): number {
    let n = 0
    for (const r of this.host.values()) if (r.machine.coordinator === coordinator) n++
    return n
  }

  private perform(round: HostedRound<ParticipantRound>, effects: ParticipantEffect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case 'send':
          if (e.msg.env.type === 'Join' && round.machine.body.rules.version >= LOCKED_JOIN_RULES) this.lockAndJoin(round, e.to, e.msg as Signed<'Join'>)
          else this.send(e.to, e.msg)
          break
        case 'generate':
          this.generate(round, e.query)
          break
        case 'judge':
          this.judge(round, e.query, e.tasks)
          break
        case 'finished': {
          if (e.won === true) this.wins++
          // Left out of the joiner set after the ledger refused this node's lock: that refusal is why.
          const refused = e.reason === 'censored' ? this.lockRefusals.get(round.machine.roundId) : undefined
          if (refused !== undefined) this.end(round, 'unlocked', `the ledger did not lock the ticket: ${refused}`)
          else this.end(round, e.reason, e.detail)
          break
        }
      }
    }
  }

  private send(to: string, msg: Signed): void {
    this.components.transport.send(to, msg.wire).catch((err) => this.error(`send ${msg.env.type}: ${err}`))
  }

  /**
   * Rules 3: the Join goes to the coordinator and to the ledger, as this node's ticket lock, at
   * once. The ledger seats every joiner it locked, so a coordinator that drops this Join cannot
   * leave the node out; the coordinator carries the Joins it holds to the ledger too, so a lock still
   * on its way when the joins close does not leave the node out either. A refused lock does not end
   * the round here: the Members seal says whether the node sits (the coordinator's copy may have
   * locked it), and one without it ends the round with the ledger's reason.
   */
  private lockAndJoin(round: HostedRound<ParticipantRound>, to: string, join: Signed<'Join'>): void {
    const lock = this.init.ledger.lockTicket
    if (lock === undefined) return this.end(round, 'unlocked', 'this node has no ledger to lock its ticket on')
    this.send(to, join)
    lock.call(this.init.ledger, round.machine.query, join, round.signal).catch((err: unknown) => {
      if (this.host.has(round.machine.roundId)) this.lockRefusals.set(round.machine.roundId, (err as Error)?.message ?? String(err))
    })
  }

  private generate(round: HostedRound<ParticipantRound>, query: QueryBody): void {
    const usage = noTokens()
    const sampling = samplingOf(query)
    const tools = this.init.tools
    const ask = (messages: ChatMessage[]) => this.init.backend.answer(messages, { signal: round.signal, onUsage: add(usage), ...(sampling ? { sampling } : {}) })
    const messages = tools?.pre?.(query.messages) ?? [...query.messages]
    ask(messages)
      .then((text) => (tools?.post ? tools.post(text, messages, ask) : text))
      .then(
        (text) => this.host.step(round, (m) => m.answered(text.slice(0, MAX_ANSWER_CHARS), this.salt(), usage)),
        (err) => {
          if (!round.signal.aborted) this.error(`answer: ${err}`)
        },
      )
  }

  private judge(round: HostedRound<ParticipantRound>, query: QueryBody, tasks: JudgeTask[]): void {
    const signal = round.signal
    const question = questionText(query)
    // Asked grouped by first answer: consecutive prompts then share their start up to the second
    // answer, which a backend that keeps its prompt state (llama.cpp in-process, llama-server's
    // prompt cache) does not read again. Verdicts go back in task order.
    const order = tasks.map((_, i) => i).sort((i, j) => (tasks[i]!.first < tasks[j]!.first ? -1 : tasks[i]!.first > tasks[j]!.first ? 1 : 0))
    const replies: JudgeReply[] = new Array(tasks.length)
    const evidence: (JudgeEvidence | undefined)[] = new Array(tasks.length)
    const usage = noTokens()
    const tool = this.init.tools?.judge
    const spec: AnswerSpec = query.answer ?? { type: 'auto', marker: 'last' }
    const marks = this.marks(query, question, tasks)
    Promise.all(
      order.map(async (i) => {
        const { first, second } = tasks[i]!
        // An answer that is no genuine attempt loses to one that is (both: a tie), unasked.
        const g = marks[i]!
        if (g !== 0) {
          replies[i] = { verdict: g === MARK_FIRST ? 'B' : g === MARK_SECOND ? 'A' : 'T' }
          return
        }
        // Tools first: where their evidence decides, the model is not asked. A tool that fails
        // gives no evidence; the model judges.
        const found = await (async () => tool?.call(this.init.tools, { question, first, second, spec }))().catch(() => undefined)
        evidence[i] = found
        if (found?.favours !== undefined) {
          replies[i] = { verdict: found.favours }
          return
        }
        replies[i] = await this.init.backend.judge({ question, first, second }, { signal, onUsage: add(usage) }).catch((): JudgeReply => ({ verdict: 'U' }))
      }),
    ).then(() => {
      if (!signal.aborted) this.host.step(round, (m) => m.judged(replies.map((r, i) => toVerdict(tasks[i]!, r, evidence[i], marks[i]!)), this.salt(), usage))
    })
  }

  /** Each task's GOOD/BAD marks (`Verdict.g`; 0: none), each distinct answer checked once. */
  private marks(query: QueryBody, question: string, tasks: readonly JudgeTask[]): number[] {
    if (this.init.prefilter === false || query.rules.version < PREFILTER_RULES) return tasks.map(() => 0)
    const bad = new Map<string, boolean>()
    const isBad = (owner: string, text: string) => {
      let b = bad.get(owner)
      if (b === undefined) bad.set(owner, (b = notGenuine(text, question) !== undefined))
      return b
    }
    return tasks.map((t) => (isBad(t.a, t.first) ? MARK_FIRST : 0) | (isBad(t.b, t.second) ? MARK_SECOND : 0))
  }

  private end(round: HostedRound<ParticipantRound>, reason: EndReason, detail?: string): void {
    const id = round.machine.roundId
    this.lockRefusals.delete(id)
    if (!this.host.remove(id)) return
    const end: RoundEnd = detail === undefined ? { round: id, reason } : { round: id, reason, detail }
    this.ended.set(reason, (this.ended.get(reason) ?? 0) + 1)
    this.recent.set(id, end)
  }

  private error(message: string): void {
    this.errors.push(message)
    if (this.errors.length > 256) this.errors.shift()
  }
}

const noTokens = (): TokenCount => ({ prompt: 0, completion: 0 })

/** Adds each call's reported tokens to a round's count (bounded as the protocol bounds it). */
const add =
  (total: TokenCount) =>
  (u: TokenCount): void => {
    total.prompt = Math.min(MAX_TOKENS_REPORTED, total.prompt + u.prompt)
    total.completion = Math.min(MAX_TOKENS_REPORTED, total.completion + u.completion)
  }

function toVerdict(task: JudgeTask, reply: JudgeReply, found: JudgeEvidence | undefined, g: number): Verdict {
  const p =
    reply.pFirst === undefined || !Number.isFinite(reply.pFirst)
      ? -1
      : Math.round(Math.min(1, Math.max(0, reply.pFirst)) * BP)
  const e = found?.evidence.slice(0, MAX_EVIDENCE).map((x) => Math.max(-1, Math.min(1_000_000, Math.trunc(x))))
  return { a: task.a, b: task.b, v: reply.verdict, p, ...(e && e.length > 0 ? { e } : {}), ...(g !== 0 ? { g } : {}) }
}
