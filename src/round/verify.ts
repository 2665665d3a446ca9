import type { Assignment } from '../consensus/assignment.js'
import { canonicalJson } from '../crypto/canonical.js'
import { commitment } from '../crypto/commitment.js'
import { type PublicKeyCache, SignatureVerifier } from '../crypto/identity.js'
import { merkleRoot } from '../crypto/merkle.js'
import { openEnvelope, type Signed } from '../protocol/envelope.js'
import { ProtocolError } from '../protocol/errors.js'
import type { MessageType, QueryBody, Verdict } from '../protocol/messages.js'
import { BEACON_RULES, rulesProblem } from '../protocol/rulesVersions.js'
import { isSortedUnique, packSeal } from '../protocol/seal.js'
import { checkVerdictsMatch } from './coordinator.js'
import { allowsOperator, type LedgerView, meetsReputation } from './ledgerView.js'
import {
  computeOutcome,
  winningGroup,
  planJudging,
  type RevealedAnswer,
  type RoundOutcome,
} from './outcome.js'
import { assignmentSeed, beaconSeed, promptHash, questionText, roundIdOf, secretCommitment, selectMembers, verdictPayload } from './rules.js'
import { type BeaconLookup, type BeaconPhase, joinSealHash, type RoundBeacon } from './beacons.js'

/**
 * Recomputes a round from its transcript alone and checks every claim in it: each signature, the
 * round id, that every seal lists exactly the member messages that precede it (in order), that r₀
 * opens c₀, every commitment opening, member selection, the judge assignment, and finally that the
 * signed Result's root, winner and scores are what the sealed messages imply. Any altered, dropped,
 * added or reordered message fails with the reason.
 */
export class TranscriptError extends Error {
  readonly code = 'INVALID_TRANSCRIPT'
  constructor(reason: string) {
    super(reason)
    this.name = 'TranscriptError'
  }
}

export interface VerifiedRound {
  roundId: string
  coordinator: string
  query: QueryBody
  /** The conversation the round answered: the Query's messages, or a private round's Prompt. */
  prompt: QueryBody['messages']
  root: string
  outcome: RoundOutcome
  /** Nodes whose Join was sealed, the members selected from them, and those whose answer was sealed. */
  joiners: string[]
  members: string[]
  revealed: string[]
  /** Members whose answer is the winner's (equivalent final answers count as one). */
  winners: string[]
  /** Every sealed verdict reveal. */
  verdicts: { judge: string; verdicts: Verdict[] }[]
}

export interface VerifyOptions {
  ledger: LedgerView
  /** The oldest rules version still taken (a ledger settling rounds); default: every known one. */
  oldestLive?: number
  /** The beacons the ledger issued (rules 2 on): a transcript's must be exactly those. */
  beacons?: BeaconLookup
  /** Parsed keys to reuse (a ledger verifying round after round meets the same nodes). */
  keys?: PublicKeyCache
}

const SCORE_TOLERANCE = 1

/** The Query deadline each seal (and the Result) closes. */
const PHASE_DEADLINE = {
  Members: 'join',
  CommitsSealed: 'commit',
  RevealsSealed: 'reveal',
  VerdictCommitsSealed: 'verdictCommit',
  VerdictsSealed: 'verdictReveal',
  Result: 'verdictReveal',
} as const satisfies Record<string, keyof QueryBody['deadlines']>

export function verifyTranscript(envelopes: readonly unknown[], options: VerifyOptions): VerifiedRound {
  // Stored envelopes are plain objects: re-encode canonically, then check as if from the wire.
  return verifyEncoded(envelopes.map((e) => canonicalJson(e)), options)
}

/** The same, for envelopes already in canonical JSON (what a caller that also stores them has). */
export function verifyEncoded(encoded: readonly string[], options: VerifyOptions): VerifiedRound {
  return new Walk(openEncoded(encoded, options.keys), options).run()
}

/** Opens each envelope (schema, canonical form, signature), or fails naming the first that does not open. */
export function openEncoded(encoded: readonly string[], keys?: PublicKeyCache): Signed[] {
  const verifier = new SignatureVerifier(keys)
  return encoded.map((e, i) => {
    try {
      return openEnvelope(Buffer.from(e, 'utf8'), verifier)
    } catch (err) {
      throw asTranscriptError(err, i)
    }
  })
}

/** Everything `verifyEncoded` checks but the signatures, for envelopes already opened (EnvelopeOpenerPool). */
export function verifyOpened(msgs: readonly Signed[], options: VerifyOptions): VerifiedRound {
  return new Walk([...msgs], options).run()
}

function asTranscriptError(err: unknown, i: number): TranscriptError {
  return new TranscriptError(`message ${i}: ${err instanceof ProtocolError ? err.message : String(err)}`)
}

class Walk {
  private i = 0
  private lastAt = 0
  private readonly coordinator: string
  private readonly roundId: string
  private readonly query: QueryBody

  constructor(
    private readonly msgs: readonly Signed[],
    private readonly opts: VerifyOptions,
  ) {
    const q = msgs[0]
    if (q === undefined || q.env.type !== 'Query')
      throw new TranscriptError('a transcript starts with the Query')
    this.coordinator = q.env.from
    this.query = (q as Signed<'Query'>).env.body
    this.roundId = q.env.round
    if (roundIdOf(this.coordinator, this.query) !== this.roundId)
      throw new TranscriptError('round id does not match the Query')
    for (const m of msgs)
      if (m.env.round !== this.roundId) throw new TranscriptError(`${m.env.type} belongs to another round`)
    const problem = rulesProblem(this.query.rules, opts.oldestLive === undefined ? {} : { oldestLive: opts.oldestLive })
    if (problem !== undefined) throw new TranscriptError(problem)
    if (opts.ledger.head() !== this.query.ledgerHead)
      throw new TranscriptError('the ledger view is not at the Query ledger head')
    this.lastAt = this.query.issuedAt
    this.i = 1
  }

  run(): VerifiedRound {
    const q = this.query
    const joins = this.memberRun('Join', () => true)
    for (const j of joins) {
      if (j.env.body.ticket !== q.ticket) throw new TranscriptError('a Join carries the wrong ticket')
      if (!this.opts.ledger.eligible(j.env.from)) throw new TranscriptError('an ineligible node was admitted')
      if (!meetsReputation(this.opts.ledger, j.env.from, q.minReputation)) throw new TranscriptError('a node below the round’s minimum reputation was admitted')
      if (!allowsOperator(this.opts.ledger, j.env.from, q.operators)) throw new TranscriptError("a node of an operator the Query did not name was admitted")
    }
    const membersSeal = this.seal('Members', joins, 'joins')
    const membersBeacon = this.beacon('members', membersSeal.env.body.beacon, joinSealHash(this.roundId, membersSeal.env.body.joins))
    const members = new Set(
      selectMembers(
        this.roundId,
        joins.map((j) => j.env.from),
        q.maxMembers,
        membersBeacon,
      ),
    )
    if (members.size < q.minMembers) throw new TranscriptError('fewer members than the Query requires')
    const prompt = this.prompt()
    const commits = this.memberRun('AnswerCommit', (from) => members.has(from))
    const commitsSeal = this.seal('CommitsSealed', commits, 'commits')
    const r0 = commitsSeal.env.body.r0
    if (secretCommitment(r0) !== q.c0) throw new TranscriptError('r0 does not open the Query commitment c0')
    const commitOf = new Map(commits.map((c) => [c.env.from, c]))
    const reveals = this.memberRun('AnswerReveal', (from) => commitOf.has(from))
    for (const r of reveals) {
      const c = commitOf.get(r.env.from)!
      if (commitment(this.roundId, r.env.from, r.env.body.answer, r.env.body.salt) !== c.env.body.c) {
        throw new TranscriptError('a sealed reveal does not open its commit')
      }
    }
    const revealsSeal = this.seal('RevealsSealed', reveals, 'reveals')
    const assignmentBeacon = this.beacon('assignment', revealsSeal.env.body.beacon, commitsSeal.hash)
    const answers: RevealedAnswer[] = reveals.map((r) => ({
      owner: r.env.from,
      text: r.env.body.answer,
      commitHash: commitOf.get(r.env.from)!.hash,
    }))
    const seed = assignmentBeacon === undefined ? assignmentSeed(this.roundId, commitsSeal.env.body.commits, q.ledgerHead, r0) : beaconSeed(this.roundId, commitsSeal.env.body.commits, q.ledgerHead, assignmentBeacon)
    const assignment = planJudging(answers, this.opts.ledger, seed)
    const verdicts =
      answers.length >= q.rules.minRanked && assignment.byJudge.size > 0 ? this.judging(assignment) : []
    const outcome = computeOutcome(answers, verdicts, this.opts.ledger, q.rules, q.answer, questionText({ messages: prompt }))
    const root = this.result(outcome)
    return {
      roundId: this.roundId,
      coordinator: this.coordinator,
      query: q,
      prompt,
      root,
      outcome,
      joiners: joins.map((j) => j.env.from),
      members: [...members].sort(),
      revealed: reveals.map((r) => r.env.from),
      winners: winningGroup(answers, outcome, q.answer),
      verdicts,
    }
  }

  /**
   * A private round's Prompt follows the Members seal, signed by the coordinator, and opens the
   * Query's hash; a round whose Query carries its messages has none.
   */
  private prompt(): QueryBody['messages'] {
    const m = this.msgs[this.i]
    const hashed = this.query.prompt
    if (hashed === undefined) {
      if (this.query.messages.length === 0) throw new TranscriptError('the Query carries neither messages nor a prompt hash')
      if (m?.env.type === 'Prompt') throw new TranscriptError('a Prompt in a round whose Query carries its messages')
      return this.query.messages
    }
    if (this.query.messages.length > 0) throw new TranscriptError('a private Query that carries its messages too')
    if (m === undefined || m.env.type !== 'Prompt' || m.env.from !== this.coordinator) throw new TranscriptError(`expected the coordinator's Prompt at message ${this.i} (the Query is private)`)
    this.i++
    const { messages, salt } = (m as Signed<'Prompt'>).env.body
    if (promptHash(messages, salt) !== hashed.hash) throw new TranscriptError("the Prompt does not open the Query's prompt hash")
    return messages
  }

  private judging(assignment: Assignment) {
    const vcommits = this.memberRun('VerdictCommit', (from) => assignment.byJudge.has(from))
    this.seal('VerdictCommitsSealed', vcommits, 'commits')
    const vcOf = new Map(vcommits.map((c) => [c.env.from, c]))
    const vreveals = this.memberRun('VerdictReveal', (from) => vcOf.has(from))
    for (const r of vreveals) {
      const { from, body } = r.env
      if (
        commitment(this.roundId, from, verdictPayload(body.verdicts), body.salt) !==
        vcOf.get(from)!.env.body.c
      ) {
        throw new TranscriptError('a sealed verdict reveal does not open its commit')
      }
      try {
        checkVerdictsMatch(body.verdicts, assignment.byJudge.get(from)!)
      } catch (err) {
        throw new TranscriptError(`judge ${from.slice(0, 8)}: ${(err as Error).message}`)
      }
    }
    this.seal('VerdictsSealed', vreveals, 'reveals')
    return vreveals.map((r) => ({ judge: r.env.from, verdicts: r.env.body.verdicts }))
  }

  private result(outcome: RoundOutcome): string {
    const last = this.msgs[this.i]
    if (last === undefined || last.env.type !== 'Result' || last.env.from !== this.coordinator) {
      throw new TranscriptError(`expected the coordinator's Result at message ${this.i}`)
    }
    if (this.i !== this.msgs.length - 1) throw new TranscriptError('messages after the Result')
    const body = (last as Signed<'Result'>).env.body
    const root = merkleRoot(this.msgs.slice(0, this.i).map((m) => m.wire))
    if (body.root !== root) throw new TranscriptError('the Result root is not the root of the transcript')
    this.checkAt(body.at, 'Result')
    if (
      body.ranked !== outcome.ranked ||
      body.winner !== outcome.winner ||
      body.separated !== outcome.separated
    ) {
      throw new TranscriptError(
        `the Result does not follow from the sealed messages (winner ${outcome.winner.slice(0, 8)})`,
      )
    }
    if (body.scores.length !== outcome.scores.length)
      throw new TranscriptError('the Result scores differ in length')
    body.scores.forEach((s, k) => {
      const o = outcome.scores[k]!
      const close = (x: number, y: number) => Math.abs(x - y) <= SCORE_TOLERANCE
      if (s.node !== o.node || s.support !== o.support || !close(s.score, o.score) || !close(s.theta, o.theta) || !close(s.lo, o.lo) || !close(s.hi, o.hi)) {
        throw new TranscriptError(`the Result score of ${s.node.slice(0, 8)} differs from the recomputed one`)
      }
    })
    return root
  }

  /**
   * Rules 2 on: the beacon a seal quotes must be the one the ledger issued for this round and
   * phase, bound to the seal it follows (`sealHash`); before, a seal quotes none. Returns its value.
   */
  private beacon(phase: BeaconPhase, quoted: RoundBeacon | undefined, sealHash: string): string | undefined {
    if (this.query.rules.version < BEACON_RULES) {
      if (quoted !== undefined) throw new TranscriptError(`a ${phase} beacon in a round of rules ${this.query.rules.version}`)
      return undefined
    }
    if (quoted === undefined) throw new TranscriptError(`the ${phase} seal quotes no beacon`)
    if (this.opts.beacons === undefined) throw new TranscriptError(`rules ${this.query.rules.version} rounds are checked against their ledger's beacons: give the ledger`)
    const issued = this.opts.beacons(this.roundId, phase)
    if (issued === undefined) throw new TranscriptError(`the ledger issued no ${phase} beacon for this round`)
    if (issued.seal !== sealHash) throw new TranscriptError(`the ledger's ${phase} beacon follows another seal than this transcript's`)
    if (issued.chain !== quoted.chain || issued.index !== quoted.index || issued.value !== quoted.value) throw new TranscriptError(`the ${phase} seal quotes another beacon than the ledger issued`)
    return quoted.value
  }

  /** Consecutive member messages of one type, from allowed senders, sorted by sender, one each. */
  private memberRun<T extends MessageType>(type: T, allowed: (from: string) => boolean): Signed<T>[] {
    const out: Signed<T>[] = []
    while (this.msgs[this.i]?.env.type === type) {
      const m = this.msgs[this.i++] as Signed<T>
      if (m.env.from === this.coordinator) throw new TranscriptError(`${type} from the coordinator`)
      if (!allowed(m.env.from)) throw new TranscriptError(`${type} from a node not entitled to send it`)
      const prev = out[out.length - 1]
      if (prev !== undefined && !(prev.env.from < m.env.from))
        throw new TranscriptError(`${type} messages out of order`)
      out.push(m)
    }
    return out
  }

  /** The next message must be the coordinator's seal of type T listing exactly `listed`. */
  private seal<
    T extends 'Members' | 'CommitsSealed' | 'RevealsSealed' | 'VerdictCommitsSealed' | 'VerdictsSealed',
  >(type: T, listed: readonly Signed[], field: string): Signed<T> {
    const m = this.msgs[this.i]
    if (m === undefined || m.env.type !== type)
      throw new TranscriptError(`expected ${type} at message ${this.i}, found ${m?.env.type ?? 'the end'}`)
    if (m.env.from !== this.coordinator) throw new TranscriptError(`${type} not signed by the coordinator`)
    this.i++
    const body = m.env.body as unknown as Record<string, string> & { at: number }
    const entries = body[field]!
    if (!isSortedUnique(entries)) throw new TranscriptError(`${type} entries are not sorted and unique`)
    if (entries !== packSeal(listed.map((l) => ({ from: l.env.from, hash: l.hash })))) {
      throw new TranscriptError(`${type} does not list exactly the messages before it`)
    }
    this.checkAt(body.at, type)
    return m as Signed<T>
  }

  /**
   * Seals come in time order, each by the deadline the Query announced for its phase plus the
   * rules' grace (members stop waiting for a seal then, so a later one reaches nobody).
   */
  private checkAt(at: number, type: keyof typeof PHASE_DEADLINE): void {
    if (at < this.lastAt) throw new TranscriptError(`${type} is dated before the message it follows`)
    const deadline = this.query.deadlines[PHASE_DEADLINE[type]]
    const grace = this.query.rules.sealGraceMs
    if (at > deadline + grace) throw new TranscriptError(`${type} is dated ${at - deadline} ms after its phase's deadline (the rules allow ${grace} ms)`)
    this.lastAt = at
  }
}
