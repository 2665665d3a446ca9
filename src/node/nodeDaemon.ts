import type { Identity } from '../crypto/identity.js'
import type { JudgeReply, ModelBackend } from '../models/backend.js'
import type { CryptoMeter, Signed } from '../protocol/envelope.js'
import { ProtocolError } from '../protocol/errors.js'
import { BP, QUERY_TOPIC } from '../protocol/limits.js'
import type { QueryBody, Verdict } from '../protocol/messages.js'
import type { LedgerView } from '../round/ledgerView.js'
import { type JudgeTask, type ParticipantEffect, ParticipantRound } from '../round/participant.js'
import { questionText } from '../round/rules.js'
import { type Clock, systemClock } from '../runtime/clock.js'
import { MessageIntake, type Verification } from '../runtime/intake.js'
import type { PublicKeyCache } from '../crypto/identity.js'
import { randomSalt, type SaltSource } from '../runtime/salt.js'
import type { Transport } from '../transport/transport.js'

/**
 * The node daemon: listens for Queries on gossip, decides whether to take part, and drives one
 * ParticipantRound per round over the transport, calling its model for answers and verdicts.
 */
export interface NodeInit {
  identity: Identity
  backend: ModelBackend
  ledger: LedgerView
  /** Rounds this node works on at once; further Queries are declined. */
  maxConcurrentRounds?: number
  /** Participation policy beyond capacity (domains, load); default: take every round. */
  wantsRound?: (query: QueryBody) => boolean
}

export interface NodeComponents {
  transport: Transport
  clock?: Clock
  salt?: SaltSource
  meter?: CryptoMeter
  verification?: Verification
  keys?: PublicKeyCache
}

export type RoundEnd = { round: string; reason: string; detail?: string }

export class NodeDaemon {
  readonly intake: MessageIntake
  private readonly rounds = new Map<
    string,
    { round: ParticipantRound; cancel: () => void; abort: AbortController }
  >()
  private readonly lastCoordSeq = new Map<string, number>()
  private readonly clock: Clock
  private readonly salt: SaltSource
  private unsubscribe: (() => void) | undefined
  private readonly finished: RoundEnd[] = []
  /** Rounds this node chose not to join, by reason. */
  readonly declined = new Map<'capacity' | 'policy' | 'ineligible', number>()
  /** Errors from the model or the transport, kept for inspection (bounded). */
  readonly errors: string[] = []

  constructor(
    private readonly init: NodeInit,
    private readonly components: NodeComponents,
  ) {
    this.intake = new MessageIntake(components)
    this.clock = components.clock ?? systemClock
    this.salt = components.salt ?? randomSalt
  }

  get id(): string {
    return this.init.identity.id
  }

  get activeRounds(): number {
    return this.rounds.size
  }

  /** The most recent round endings, newest last. */
  get recentEnds(): readonly RoundEnd[] {
    return this.finished
  }

  start(): void {
    const t = this.components.transport
    t.subscribe(QUERY_TOPIC)
    this.unsubscribe = t.onMessage((m) => this.onData(m.data))
  }

  async stop(): Promise<void> {
    this.unsubscribe?.()
    for (const r of this.rounds.values()) {
      r.cancel()
      r.abort.abort()
    }
    this.rounds.clear()
  }

  private onData(data: Uint8Array): void {
    this.intake.submit(data, (msg) => this.onMessage(msg))
  }

  private onMessage(msg: Signed): void {
    try {
      if (msg.env.type === 'Query') this.onQuery(msg as Signed<'Query'>)
      else {
        const entry = this.rounds.get(msg.env.round)
        if (entry === undefined) throw new ProtocolError('WRONG_ROUND', 'not in this round')
        this.run(entry.round, entry.round.apply(msg))
      }
    } catch (err) {
      this.intake.reject(err)
    }
  }

  private onQuery(msg: Signed<'Query'>): void {
    if (this.rounds.has(msg.env.round)) return
    const round = ParticipantRound.fromQuery(
      { identity: this.init.identity, ledger: this.init.ledger, meter: this.components.meter },
      msg,
      this.lastCoordSeq.get(msg.env.from),
    )
    this.lastCoordSeq.set(msg.env.from, msg.env.body.coordSeq)
    if (this.rounds.size >= (this.init.maxConcurrentRounds ?? 4)) return this.decline('capacity')
    if (this.init.wantsRound !== undefined && !this.init.wantsRound(msg.env.body)) return this.decline('policy')
    if (!this.init.ledger.eligible(this.id)) return this.decline('ineligible')
    this.rounds.set(round.roundId, { round, cancel: () => {}, abort: new AbortController() })
    this.run(round, round.start())
  }

  /** Keeps one timer per round at the machine's next deadline (a silent coordinator ends it). */
  private schedule(round: ParticipantRound): void {
    const entry = this.rounds.get(round.roundId)
    if (entry === undefined) return
    entry.cancel()
    const due = round.nextDeadline()
    entry.cancel =
      due === undefined
        ? () => {}
        : this.clock.setTimer(due - this.clock.now(), () => this.run(round, round.tick(this.clock.now())))
  }

  private run(round: ParticipantRound, effects: ParticipantEffect[]): void {
    const phase = round.phase
    for (const e of effects) {
      switch (e.kind) {
        case 'send':
          this.components.transport
            .send(e.to, e.msg.wire)
            .catch((err) => this.error(`send ${e.msg.env.type}: ${err}`))
          break
        case 'generate':
          this.generate(round, e.query)
          break
        case 'judge':
          this.judge(round, e.query, e.tasks)
          break
        case 'finished':
          this.end(round, e.reason, e.detail)
          break
      }
    }
    if (round.phase !== phase || effects.length === 0) this.schedule(round)
  }

  private generate(round: ParticipantRound, query: QueryBody): void {
    const signal = this.rounds.get(round.roundId)?.abort.signal
    this.init.backend.answer(query.messages, { signal }).then(
      (text) => this.run(round, round.answered(text, this.salt())),
      (err) => this.error(`answer: ${err}`),
    )
  }

  private judge(round: ParticipantRound, query: QueryBody, tasks: JudgeTask[]): void {
    const signal = this.rounds.get(round.roundId)?.abort.signal
    const question = questionText(query)
    // Asked grouped by first answer: consecutive prompts then share their start up to the second
    // answer, which a backend that keeps its prompt state (llama.cpp in-process, llama-server's
    // prompt cache) does not read again. Verdicts go back in task order.
    const order = tasks.map((_, i) => i).sort((i, j) => (tasks[i]!.first < tasks[j]!.first ? -1 : tasks[i]!.first > tasks[j]!.first ? 1 : 0))
    const replies: JudgeReply[] = new Array(tasks.length)
    Promise.all(
      order.map((i) =>
        this.init.backend
          .judge({ question, first: tasks[i]!.first, second: tasks[i]!.second }, { signal })
          .catch((): JudgeReply => ({ verdict: 'U' }))
          .then((r) => {
            replies[i] = r
          }),
      ),
    ).then(
      () =>
        this.run(
          round,
          round.judged(
            replies.map((r, i) => toVerdict(tasks[i]!, r)),
            this.salt(),
          ),
        ),
      (err) => this.error(`judge: ${err}`),
    )
  }

  private end(round: ParticipantRound, reason: string, detail?: string): void {
    const entry = this.rounds.get(round.roundId)
    if (entry === undefined) return
    entry.cancel()
    this.rounds.delete(round.roundId)
    this.finished.push(
      detail === undefined ? { round: round.roundId, reason } : { round: round.roundId, reason, detail },
    )
    if (this.finished.length > 256) this.finished.shift()
  }

  private decline(reason: 'capacity' | 'policy' | 'ineligible'): void {
    this.declined.set(reason, (this.declined.get(reason) ?? 0) + 1)
  }

  private error(message: string): void {
    this.errors.push(message)
    if (this.errors.length > 256) this.errors.shift()
  }
}

function toVerdict(task: JudgeTask, reply: JudgeReply): Verdict {
  const p =
    reply.pFirst === undefined || !Number.isFinite(reply.pFirst)
      ? -1
      : Math.round(Math.min(1, Math.max(0, reply.pFirst)) * BP)
  return { a: task.a, b: task.b, v: reply.verdict, p }
}
