import { answerKey, extractAnswer, replyKey } from '../consensus/answers.js'
import { canonicalJson } from '../crypto/canonical.js'
import { isLowerHex } from '../crypto/hex.js'
import { type Identity, SignatureVerifier, signBytes } from '../crypto/identity.js'
import type { Verdict } from '../protocol/messages.js'
import type { CalibrationItem } from './calibrationPool.js'
import { LedgerError } from './ledger.js'
import { checkTimedAsk, signTimedAsk, type TimedAsk } from './timedAsk.js'

/**
 * Hidden calibration rounds (DESIGN.md §6): a gateway takes a known-answer question from the
 * ledger's pool (`HiddenItem`: the ledger logs the item's commitment and hands the gateway the
 * question only), runs it as an ordinary round — same coordinator, terms, deadlines and size as its
 * other rounds, so members cannot tell it apart — and once the round settled, says which round
 * asked it (`HiddenReveal`). The ledger then reveals the item in its log and grades every verdict
 * that compared a right answer with a wrong one: judge accuracy measured where the truth is known,
 * not by agreement with the majority.
 */
export interface HiddenItem {
  /** The log entry that committed to it. */
  id: number
  question: string
}

/** A gateway's signed ask for an item (timedAsk.ts): each must be newer than its last. */
export type HiddenAsk = TimedAsk

export interface HiddenReveal {
  key: string
  item: number
  round: string
  sig: string
}

const revealBytes = (r: Pick<HiddenReveal, 'key' | 'item' | 'round'>) => Buffer.from(`chorus/ledger/v1/hidden-reveal\n${canonicalJson({ item: r.item, key: r.key, round: r.round })}`, 'utf8')
const verifier = new SignatureVerifier()

export function signHiddenAsk(gateway: Identity, at: number): HiddenAsk {
  return signTimedAsk('hidden-item', gateway, at)
}

export function signHiddenReveal(gateway: Identity, item: number, round: string): HiddenReveal {
  return { key: gateway.id, item, round, sig: signBytes(gateway, revealBytes({ key: gateway.id, item, round })) }
}

export function checkHiddenAsk(raw: unknown, now: number): HiddenAsk {
  return checkTimedAsk('hidden-item', 'hidden-item ask', raw, now)
}

export function checkHiddenReveal(raw: unknown): HiddenReveal {
  const r = raw as HiddenReveal
  const ok = typeof r === 'object' && r !== null && Object.keys(r).sort().join(',') === 'item,key,round,sig' && typeof r.key === 'string' && isLowerHex(r.key, 64) && Number.isSafeInteger(r.item) && typeof r.round === 'string' && isLowerHex(r.round, 64) && typeof r.sig === 'string' && isLowerHex(r.sig, 128)
  if (!ok) throw new LedgerError('BAD_REQUEST', 'a hidden-round reveal is {key, item, round, sig}')
  if (!verifier.verify(r.key, revealBytes(r), r.sig)) throw new LedgerError('BAD_SIGNATURE', 'the hidden-round reveal is not signed by its key')
  return { key: r.key, item: r.item, round: r.round, sig: r.sig }
}

/**
 * Each judge's graded verdicts in a hidden round: a verdict counts where exactly one of its two
 * answers states the item's known answer (compared as final answers are everywhere); it is right
 * when it prefers that one (a tie or an abstention is graded, and not right).
 */
export function gradeHiddenRound(item: CalibrationItem, answers: ReadonlyMap<string, string>, verdicts: readonly { judge: string; verdicts: readonly Verdict[] }[]): Map<string, { right: number; graded: number }> {
  const gold = extractAnswer(item.right, true)
  const out = new Map<string, { right: number; graded: number }>()
  if (gold === undefined) return out
  const goldKey = answerKey(gold)
  const isRight = new Map([...answers].map(([owner, text]) => [owner, replyKey(text) === goldKey]))
  for (const { judge, verdicts: vs } of verdicts) {
    let right = 0
    let graded = 0
    for (const v of vs) {
      const a = isRight.get(v.a)
      const b = isRight.get(v.b)
      if (a === undefined || b === undefined || a === b) continue
      graded++
      if ((v.v === 'A' && a) || (v.v === 'B' && b)) right++
    }
    if (graded > 0) out.set(judge, { right, graded })
  }
  return out
}
