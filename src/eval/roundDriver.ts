import type { AnswerSpec } from '../consensus/answerTypes.js'
import { canonicalJson } from '../crypto/canonical.js'
import type { Identity } from '../crypto/identity.js'
import { identityFromSeed, SignatureVerifier } from '../crypto/identity.js'
import { hashParts } from '../crypto/hash.js'
import { byHash, openEnvelope, openKnown, type Signed } from '../protocol/envelope.js'
import type { Verdict } from '../protocol/messages.js'
import { LOCKED_JOIN_RULES, type RoundRules } from '../protocol/rulesVersions.js'
import type { BeaconPhase, IssuedBeacon } from '../round/beacons.js'
import { type CoordinatorEffect, CoordinatorRound } from '../round/coordinator.js'
import type { LedgerView } from '../round/ledgerView.js'
import { type JudgeTask, type ParticipantEffect, ParticipantRound } from '../round/participant.js'

/**
 * Runs one round through the real state machines, synchronously and in memory, for evaluation:
 * the same CoordinatorRound and ParticipantRound as a live round, real signatures, and every member
 * message checked by the coordinator exactly as the live intake does (`openEnvelope`). Answers and
 * verdicts come from callbacks instead of models.
 */
export interface DriverNode {
  identity: Identity
  /** Undefined: the node joins, then never answers (a no-show). */
  answer: string | undefined
  /** Verdict on a task, by this node as judge. */
  judge(task: JudgeTask): Verdict['v']
  /** Its GOOD/BAD marks on a task (rules 4 on: Verdict.g; 0 or absent: none). */
  marks?(task: JudgeTask): number
}

export interface DrivenRound {
  done: Extract<CoordinatorEffect, { kind: 'done' }>
  rejected: string[]
  /** The members seated (no-shows among them send nothing after their Join). */
  seated: readonly string[]
}

/** A round its coordinator gave up once it saw who was seated (`abandon`). */
export interface AbandonedRound {
  abandoned: true
  /** The members the beacon seated. */
  seated: readonly string[]
}

/**
 * A real ledger taking part (rules 2 on): it issues the round's beacons and, rules 3 on, locks each
 * member's ticket as its Join goes out and names the joiner set with the members beacon.
 */
export interface DriverLedger {
  rules: RoundRules
  /** The ledger's clock when the round starts (its deadlines are checked against it). */
  now: number
  /** `joins`: rules 3 on, the Joins the coordinator carries with its members request. */
  beacon(phase: BeaconPhase, seal: string, query: Signed<'Query'>, joins?: readonly Signed<'Join'>[]): IssuedBeacon & { joins?: unknown[] }
  lock(join: Signed<'Join'>, query: Signed<'Query'>): void
}

export interface DriveOptions {
  /** Lets a test tamper with a member message before the coordinator sees it. */
  intercept?: (msg: Signed) => Signed
  /** The round's fee and ticket (micro-units; default none). */
  terms?: { fee?: string; ticket?: string }
  live?: DriverLedger
  /** Seats at most this many of the joiners (default: all of them); the members beacon picks which. */
  maxMembers?: number
  /** The Query's answer spec: how the round reads and groups replies (default: as before answer types). */
  answer?: AnswerSpec
}

/** The coordinator every driven round has (a ledger that settles them registers it as a gateway). */
export const DRIVER_COORDINATOR = identityFromSeed(Buffer.from(hashParts('eval-coordinator'), 'hex'))

export function driveRound(nodes: readonly DriverNode[], question: string, ledger: LedgerView, round: number, options: DriveOptions = {}): DrivenRound {
  const driven = driveOrAbandon(nodes, question, ledger, round, options)
  if ('abandoned' in driven) throw new Error('round abandoned')
  return driven
}

/**
 * The same, for a coordinator that may walk away once it sees who the members beacon seated
 * (`abandon` returns true): the round stops there, as a live coordinator that never sends another
 * message, and the ledger keeps the tickets locked and the fee escrowed until the round expires.
 */
export function driveOrAbandon(
  nodes: readonly DriverNode[],
  question: string,
  ledger: LedgerView,
  round: number,
  { intercept = (m) => m, terms = {}, live, maxMembers = nodes.length, abandon, answer }: DriveOptions & { abandon?: (seated: readonly string[]) => boolean } = {},
): DrivenRound | AbandonedRound {
  const verifier = new SignatureVerifier()
  const rejected: string[] = []
  const queue: (() => void)[] = []
  const parts = new Map<string, { node: DriverNode; p: ParticipantRound }>()
  let done: DrivenRound['done'] | undefined
  let abandoned = false
  const t = live?.now ?? 1_000_000
  /** The round's clock: the start, then each deadline the round waits for. */
  let now = t
  // Phases close on quorum; against a ledger's clock the deadlines must not pass meanwhile.
  const phaseMs = live ? 60_000 : 1
  const { round: coord, effects } = CoordinatorRound.start(
    { identity: DRIVER_COORDINATOR, ledger, ...(live ? { rules: live.rules } : {}) },
    {
      coordSeq: round + 1,
      messages: [{ role: 'user', content: question }],
      minMembers: Math.min(3, nodes.length),
      maxMembers,
      // Everyone's join is waited for: the beacon seats the members among them all.
      joinTarget: nodes.length,
      durations: { join: phaseMs, commit: phaseMs, reveal: phaseMs, verdictCommit: phaseMs, verdictReveal: phaseMs },
      ...terms,
      ...(answer === undefined ? {} : { answer }),
    },
    hashParts('eval-r0', String(round)),
    t,
  )
  const toCoordinator = (msg: Signed) =>
    queue.push(() => {
      try {
        const checked = openEnvelope(intercept(msg).wire, verifier)
        onCoordinator(coord.apply(checked, now))
      } catch (err) {
        rejected.push((err as { code?: string }).code ?? String(err))
      }
    })
  const onMember = (id: string, effs: ParticipantEffect[]) => {
    const { node, p } = parts.get(id)!
    for (const e of effs) {
      if (e.kind === 'send' && e.msg.env.type === 'Join' && live && p.body.rules.version >= LOCKED_JOIN_RULES) live.lock(e.msg as Signed<'Join'>, coord.query)
      if (e.kind === 'send') toCoordinator(e.msg)
      else if (e.kind === 'generate') {
        const answer = node.answer
        if (answer !== undefined) queue.push(() => onMember(id, p.answered(answer, hashParts('eval-salt', id, String(round)))))
      }
      else if (e.kind === 'judge') {
        const verdicts = e.tasks.map((task) => {
          const g = node.marks?.(task) ?? 0
          return { a: task.a, b: task.b, v: node.judge(task), p: -1, ...(g === 0 ? {} : { g }) }
        })
        queue.push(() => onMember(id, p.judged(verdicts, hashParts('eval-vsalt', id, String(round)))))
      }
    }
  }
  const deliver = (to: string, msg: Signed) =>
    queue.push(() => {
      const entry = parts.get(to)
      if (entry) onMember(to, entry.p.apply(msg))
    })
  const onCoordinator = (effs: CoordinatorEffect[]) => {
    for (const e of effs) {
      if (abandoned) return
      if (e.kind === 'send' && e.msg.env.type === 'Members' && abandon?.(coord.seated)) {
        abandoned = true
        queue.length = 0
        return
      }
      if (e.kind === 'broadcast') {
        for (const node of nodes) {
          const p = ParticipantRound.fromQuery({ identity: node.identity, ledger }, e.msg as Signed<'Query'>, undefined)
          parts.set(node.identity.id, { node, p })
          onMember(node.identity.id, p.start())
        }
      } else if (e.kind === 'send') for (const to of e.to) deliver(to, e.msg)
      else if (e.kind === 'forward') for (const m of e.msgs) deliver(e.to, m)
      else if (e.kind === 'beacon') {
        if (!live) throw new Error('a round under rules 2 or later needs a ledger for its beacons')
        const { joins, ...issued } = live.beacon(e.phase, e.seal, coord.query, e.joins)
        const known = byHash(e.joins)
        const named = joins?.map((j) => openKnown(Buffer.from(canonicalJson(j), 'utf8'), known, verifier))
        queue.push(() => onCoordinator(coord.beacon(e.phase, issued, now, named)))
      } else if (e.kind === 'done') done = e
      else if (e.kind === 'failed') throw new Error(`round failed: ${e.message}`)
    }
  }
  const drain = () => {
    for (let guard = 0; queue.length > 0 && guard < 1_000_000; guard++) queue.shift()!()
  }
  onCoordinator(effects)
  drain()
  // Anything still open closes at its deadline (members that sent nothing are simply dropped):
  // the clock moves to just past each deadline in turn, as a live coordinator's timer fires.
  const d = coord.query.env.body.deadlines
  for (const deadline of [d.join, d.commit, d.reveal, d.verdictCommit, d.verdictReveal]) {
    if (done !== undefined || abandoned) break
    if (deadline < now) continue
    now = deadline + 1
    onCoordinator(coord.tick(now))
    drain()
  }
  if (abandoned) return { abandoned: true, seated: coord.seated }
  if (done === undefined) throw new Error('round did not finish')
  return { done, rejected, seated: coord.seated }
}
