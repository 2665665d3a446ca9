import type Database from 'better-sqlite3'
import { type CalibrationAnswer, type CalibrationResult, type CalibrationRules, type Challenge, challengeLayout, challengeTasks, checkCalibrationAnswer, gradeVerdicts } from './calibration.js'
import { type CalibrationPool, itemCommitment, type SaltedItem } from './calibrationPool.js'
import { LedgerError } from './ledger.js'
import { addEvidence, calibrate, type Reputation } from './reputation.js'
import { checkHiddenReveal, gradeHiddenRound, type HiddenAsk, type HiddenItem, type HiddenReveal } from './hiddenRounds.js'
import type { Verdict } from '../protocol/messages.js'

/**
 * The SQLite ledger's calibration challenges (calibration.ts): one open challenge per node account
 * (`challenges`: its items' commitments and where they start in the pool), issued by a `challenge`
 * entry and graded by a `calibration` entry that reveals the items. The pool is the writer's alone;
 * a replay checks the revealed items against the commitments. Runs inside the ledger's transactions.
 */
export interface CalibrationLedger {
  sql(text: string): Database.Statement
  rules(): CalibrationRules | undefined
  accountOfKey(key: string): string | undefined
  /** A node account with at least the minimum stake. */
  isStakedNode(account: string): boolean
  reputation(account: string): Reputation
  saveReputation(account: string, r: Reputation): void
  recordStanding(account: string, seq: number): void
  meta(key: string): string | undefined
  setMeta(key: string, value: string): void
  /** A registered gateway's account. */
  isGateway(account: string): boolean
  /** A settled round's facts, read back from its settlement entry (undefined: not settled here). */
  settledRound(round: string): SettledRound | undefined
}

export interface SettledRound {
  coordinator: string
  /** The question the round asked (its prompt's last user message; '' if none). */
  question: string
  /** Each sealed answer, by its owner. */
  answers: Map<string, string>
  verdicts: { judge: string; verdicts: Verdict[] }[]
}

/** Hidden items a gateway holds unrevealed at once; past it, its oldest lapses. */
export const MAX_OPEN_HIDDEN = 64

type Row = Record<string, bigint | string | null>
interface OpenChallenge {
  id: number
  key: string
  slot: number
  commitments: string[]
  expires: number
}

export class Calibrations {
  constructor(private readonly l: CalibrationLedger) {}

  /** The rules, where this ledger requires calibration (a node on another has nothing to take). */
  private must(): CalibrationRules {
    const cal = this.l.rules()
    if (cal === undefined || !cal.required) throw new LedgerError('NOT_REQUIRED', 'this ledger does not require calibration: every staked node judges')
    return cal
  }

  private open(account: string): OpenChallenge | undefined {
    const r = this.l.sql('SELECT * FROM challenges WHERE account = ?').get(account) as Row | undefined
    if (r === undefined) return undefined
    return { id: Number(r.id), key: r.key as string, slot: Number(r.slot), commitments: JSON.parse(r.commitments as string) as string[], expires: Number(r.expires) }
  }

  /** The challenge a node has open at `at`, with its tasks (from the writer's pool), if any. */
  current(key: string, at: number, pool: CalibrationPool): Challenge | undefined {
    const account = this.l.accountOfKey(key)
    const c = account === undefined ? undefined : this.open(account)
    if (c === undefined || c.key !== key || at > c.expires) return undefined
    const items = this.items(c, pool)
    return { id: c.id, node: key, tasks: challengeTasks(items, challengeLayout(c.commitments)), expires: c.expires }
  }

  /** The body of the `challenge` entry that would issue a node its next challenge at `at` (checked by `applyChallenge`). */
  next(key: string, pool: CalibrationPool): Record<string, unknown> {
    const cal = this.must()
    const account = this.l.accountOfKey(key)
    if (account === undefined) throw new LedgerError('UNKNOWN_ACCOUNT', 'no account acts for that key')
    const slot = Number(this.l.meta('calibration_slots') ?? '0')
    const commitments = Array.from({ length: cal.judgements / 2 }, (_, i) => itemCommitment(pool.item(slot + i)))
    return { account, key, slot, commitments }
  }

  applyChallenge(b: Record<string, unknown>, seq: number, at: number): void {
    const cal = this.must()
    const account = String(b.account)
    if (this.l.accountOfKey(String(b.key)) !== account || !this.l.isStakedNode(account)) throw new LedgerError('BAD_REQUEST', 'only a staked node takes a calibration challenge')
    let rep = this.l.reputation(account)
    if (rep.calibrated) throw new LedgerError('EXISTS', 'this node is calibrated already')
    const open = this.open(account)
    if (open !== undefined) {
      if (at <= open.expires) throw new LedgerError('EXISTS', 'this node has a challenge open')
      // Left unanswered: a failure, whose wait runs from when it expired.
      rep = { ...calibrate(rep, 0, 0, open.expires, cal) }
    }
    if (at < rep.calRetryAt) throw new LedgerError('NOT_YET', `a failed calibration may be tried again from ${new Date(rep.calRetryAt).toISOString()}`)
    const slot = Number(this.l.meta('calibration_slots') ?? '0')
    const commitments = b.commitments as string[]
    if (Number(b.slot) !== slot || !Array.isArray(commitments) || commitments.length !== cal.judgements / 2) throw new LedgerError('CORRUPT', 'a malformed calibration challenge')
    this.l.setMeta('calibration_slots', String(slot + commitments.length))
    this.l.saveReputation(account, rep)
    // Open for its answer from the entry's own time: a replay computes the same.
    this.l.sql('INSERT OR REPLACE INTO challenges (account, id, key, slot, commitments, expires) VALUES (?, ?, ?, ?, ?, ?)').run(account, seq, b.key, slot, JSON.stringify(commitments), at + cal.answerWithinMs)
    this.l.recordStanding(account, seq)
  }

  /** The body of the `calibration` entry that grades an answer (its items revealed from the pool). */
  grading(answer: CalibrationAnswer, at: number, pool: CalibrationPool): Record<string, unknown> {
    const account = this.l.accountOfKey(answer.key)
    const c = account === undefined ? undefined : this.open(account)
    if (c === undefined || c.id !== answer.challenge || c.key !== answer.key) throw new LedgerError('BAD_REQUEST', 'no such challenge is open for this node')
    if (at > c.expires) throw new LedgerError('CLOSED', 'the challenge expired before its answer came')
    return { account, answer, items: this.items(c, pool) }
  }

  applyCalibration(b: Record<string, unknown>, seq: number, at: number): CalibrationResult {
    const cal = this.must()
    const account = String(b.account)
    const answer = checkCalibrationAnswer(b.answer)
    const c = this.open(account)
    if (c === undefined || c.id !== answer.challenge || c.key !== answer.key) throw new LedgerError('BAD_REQUEST', 'no such challenge is open for this node')
    if (at > c.expires) throw new LedgerError('CLOSED', 'the challenge expired before its answer came')
    const items = b.items as SaltedItem[]
    if (!Array.isArray(items) || items.length !== c.commitments.length || items.some((it, i) => itemCommitment(it) !== c.commitments[i])) throw new LedgerError('CORRUPT', 'revealed calibration items that are not the ones committed')
    const layout = challengeLayout(c.commitments)
    if (answer.verdicts.length !== layout.length) throw new LedgerError('BAD_REQUEST', `a challenge of ${layout.length} judgements takes ${layout.length} verdicts, not ${answer.verdicts.length}`)
    const right = gradeVerdicts(layout, answer.verdicts)
    const rep = calibrate(this.l.reputation(account), right, layout.length, at, cal)
    this.l.saveReputation(account, rep)
    this.l.sql('DELETE FROM challenges WHERE account = ?').run(account)
    this.l.recordStanding(account, seq)
    return { challenge: c.id, right, of: layout.length, passed: rep.calibrated, weightMicro: rep.weightMicro }
  }


  // ——— hidden calibration rounds (hiddenRounds.ts) ———

  /** The body of the `hidden-item` entry that gives a gateway its next hidden round's item. */
  nextHidden(ask: HiddenAsk, pool: CalibrationPool): Record<string, unknown> {
    this.must()
    const gateway = this.l.accountOfKey(ask.key)
    if (gateway === undefined || !this.l.isGateway(gateway)) throw new LedgerError('NOT_A_GATEWAY', 'only a registered gateway runs hidden calibration rounds')
    const slot = Number(this.l.meta('hidden_slots') ?? '0')
    return { gateway, slot, commitment: itemCommitment(pool.hiddenItem(slot)), askAt: ask.at }
  }

  applyHiddenItem(b: Record<string, unknown>, seq: number): void {
    this.must()
    const gateway = String(b.gateway)
    if (!this.l.isGateway(gateway)) throw new LedgerError('NOT_A_GATEWAY', 'only a registered gateway runs hidden calibration rounds')
    // Each ask newer than the gateway's last: a copy replayed within its minute takes nothing.
    const lastAsk = this.l.meta(`hidden_ask:${gateway}`)
    if (!Number.isSafeInteger(b.askAt) || (lastAsk !== undefined && (b.askAt as number) <= Number(lastAsk))) throw new LedgerError('BAD_REQUEST', 'a hidden-item ask no newer than the gateway\'s last one (a replay)')
    const slot = Number(this.l.meta('hidden_slots') ?? '0')
    if (Number(b.slot) !== slot || typeof b.commitment !== 'string') throw new LedgerError('CORRUPT', 'a malformed hidden item')
    // Bounded per gateway: past the bound its oldest unreported item lapses (a round that failed
    // never reports, and must not keep the gateway from hidden rounds for good).
    const open = Number((this.l.sql('SELECT COUNT(*) AS n FROM hidden_items WHERE gateway = ?').get(gateway) as Row).n)
    if (open >= MAX_OPEN_HIDDEN) this.l.sql('DELETE FROM hidden_items WHERE id = (SELECT MIN(id) FROM hidden_items WHERE gateway = ?)').run(gateway)
    this.l.setMeta(`hidden_ask:${gateway}`, String(b.askAt))
    this.l.setMeta('hidden_slots', String(slot + 1))
    this.l.sql('INSERT INTO hidden_items (id, gateway, slot, commitment) VALUES (?, ?, ?, ?)').run(seq, gateway, slot, b.commitment)
  }

  /** An item's question, for the gateway that took it (the ledger keeps the answers). */
  hiddenQuestion(id: number, pool: CalibrationPool): HiddenItem {
    const r = this.l.sql('SELECT slot FROM hidden_items WHERE id = ?').get(id) as Row
    return { id, question: pool.hiddenItem(Number(r.slot)).question }
  }

  /** The body of the `hidden-grade` entry that reveals a gateway's item and grades the round that asked it. */
  hiddenGrading(reveal: HiddenReveal, pool: CalibrationPool): Record<string, unknown> {
    const r = this.l.sql('SELECT gateway, slot FROM hidden_items WHERE id = ?').get(reveal.item) as Row | undefined
    if (r === undefined || r.gateway !== this.l.accountOfKey(reveal.key)) throw new LedgerError('BAD_REQUEST', 'no such hidden item is open for this gateway')
    return { item: reveal.item, round: reveal.round, revealed: pool.hiddenItem(Number(r.slot)), reveal }
  }

  /** Grades a settled round's judges on a revealed item; returns how many judges it graded. */
  applyHiddenGrade(b: Record<string, unknown>, seq: number): number {
    const cal = this.must()
    const reveal = checkHiddenReveal(b.reveal)
    const r = this.l.sql('SELECT gateway, commitment FROM hidden_items WHERE id = ?').get(reveal.item) as Row | undefined
    if (r === undefined || r.gateway !== this.l.accountOfKey(reveal.key) || Number(b.item) !== reveal.item || b.round !== reveal.round) throw new LedgerError('BAD_REQUEST', 'no such hidden item is open for this gateway')
    const item = b.revealed as SaltedItem
    if (itemCommitment(item) !== r.commitment) throw new LedgerError('CORRUPT', 'a revealed hidden item that is not the one committed')
    const round = this.l.settledRound(reveal.round)
    if (round === undefined) throw new LedgerError('NOT_YET', 'the round is not settled here yet: report it once it is')
    if (this.l.accountOfKey(round.coordinator) !== r.gateway || round.question !== item.question) throw new LedgerError('BAD_REQUEST', "that round was not this gateway's round of this item")
    const graded = gradeHiddenRound(item, round.answers, round.verdicts)
    for (const [judge, g] of graded) {
      const account = this.l.accountOfKey(judge)
      if (account === undefined) continue
      this.l.saveReputation(account, addEvidence(this.l.reputation(account), g.right, g.graded, cal))
      this.l.recordStanding(account, seq)
    }
    this.l.sql('DELETE FROM hidden_items WHERE id = ?').run(reveal.item)
    return graded.size
  }

  private items(c: OpenChallenge, pool: CalibrationPool): SaltedItem[] {
    return c.commitments.map((_, i) => pool.item(c.slot + i))
  }
}
