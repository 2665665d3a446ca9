import { SeededRandom } from '../consensus/prng.js'
import { canonicalJson } from '../crypto/canonical.js'
import { hashParts } from '../crypto/hash.js'
import { isLowerHex } from '../crypto/hex.js'
import { type Identity, SignatureVerifier, signBytes } from '../crypto/identity.js'
import type { SaltedItem } from './calibrationPool.js'
import { LedgerError } from './ledger.js'
import { checkTimedAsk, signTimedAsk, type TimedAsk } from './timedAsk.js'

/**
 * Proof of capability (DESIGN.md §6): before its verdicts weigh anything, a node passes a
 * calibration challenge — known-answer pairs, each shown in both orders (the reference client: 20
 * judgements, 17 right) — and passes again when its judge weight falls below a floor. The ledger
 * issues the challenge (its items committed in the log), the node judges the pairs with its own
 * model and signs its verdicts, and the ledger grades them (the items revealed in the log, so the
 * grading replays). A failed node waits before trying again, twice as long after each failure, so
 * guessing its way through (1 in 760 per try at 17 of 20) takes years.
 */
export interface CalibrationRules {
  /** Whether a node must pass before it judges (off for tiny test models, which would fail it). */
  required: boolean
  /** Judgements per challenge: half as many items, each shown in both orders. */
  judgements: number
  /** Right judgements needed to pass. */
  pass: number
  /**
   * How much a verdict that agreed with its round's outcome counts as evidence of accuracy, beside
   * a graded known-answer judgement, in parts per million (agreement alone rewards herding).
   */
  agreementSharePpm: number
  /** A calibrated judge whose weight falls below this (micro-units) must pass again. */
  floorMicro: number
  /** The wait after a first failure (ms); it doubles with each further one, up to a week. */
  retryMs: number
  /** How long a challenge stays open for its answer (ms). */
  answerWithinMs: number
}

export const DEFAULT_CALIBRATION: CalibrationRules = {
  required: true,
  judgements: 20,
  pass: 17,
  agreementSharePpm: 100_000,
  // log(0.6 / 0.4): a judge estimated right less than 60 % of the time.
  floorMicro: 405_465,
  retryMs: 600_000,
  answerWithinMs: 600_000,
}

export const MAX_RETRY_MS = 7 * 24 * 3_600_000

/** One pair a challenged node judges: is `first` or `second` the better answer to `question`? */
export interface CalibrationTask {
  question: string
  first: string
  second: string
}

export interface Challenge {
  /** The log entry that issued it. */
  id: number
  node: string
  tasks: CalibrationTask[]
  /** Ledger time by which the answer must arrive. */
  expires: number
}

export interface CalibrationResult {
  challenge: number
  right: number
  of: number
  passed: boolean
  /** The judge weight the node has now, in micro-units. */
  weightMicro: number
}

/**
 * Which item each judgement shows and whether its right answer comes first: every item twice,
 * once each way, in an order drawn from the challenge's own commitments (public once issued; the
 * node sees the order anyway).
 */
export function challengeLayout(commitments: readonly string[]): [item: number, rightFirst: boolean][] {
  const layout: [number, boolean][] = commitments.flatMap((_, i) => [[i, true] as [number, boolean], [i, false] as [number, boolean]])
  const r = new SeededRandom(hashParts('calibration-layout', ...commitments))
  for (let i = layout.length - 1; i > 0; i--) {
    const j = r.nextInt(i + 1)
    ;[layout[i], layout[j]] = [layout[j]!, layout[i]!]
  }
  return layout
}

export function challengeTasks(items: readonly SaltedItem[], layout: readonly [number, boolean][]): CalibrationTask[] {
  return layout.map(([i, rightFirst]) => {
    const it = items[i]!
    return { question: it.question, first: rightFirst ? it.right : it.wrong, second: rightFirst ? it.wrong : it.right }
  })
}

export type CalibrationVerdict = 'A' | 'B' | 'T' | 'U'

/** Right judgements: the right answer preferred (a tie or an abstention is not right). */
export function gradeVerdicts(layout: readonly [number, boolean][], verdicts: readonly CalibrationVerdict[]): number {
  let right = 0
  layout.forEach(([, rightFirst], j) => {
    if (verdicts[j] === (rightFirst ? 'A' : 'B')) right++
  })
  return right
}

/** The wait before another try after `failures` failures in a row. */
export function retryWait(rules: CalibrationRules, failures: number): number {
  return Math.min(MAX_RETRY_MS, rules.retryMs * 2 ** Math.max(0, failures - 1))
}

// ——— the node's two signed requests ———

/** A node's signed ask for its challenge (timedAsk.ts). */
export type CalibrationAsk = TimedAsk

export interface CalibrationAnswer {
  key: string
  challenge: number
  verdicts: CalibrationVerdict[]
  sig: string
}

const answerBytes = (a: Pick<CalibrationAnswer, 'key' | 'challenge' | 'verdicts'>) => Buffer.from(`chorus/ledger/v1/calibration-answer\n${canonicalJson({ challenge: a.challenge, key: a.key, verdicts: a.verdicts })}`, 'utf8')

export function signCalibrationAsk(node: Identity, at: number): CalibrationAsk {
  return signTimedAsk('calibrate', node, at)
}

export function signCalibrationAnswer(node: Identity, challenge: number, verdicts: CalibrationVerdict[]): CalibrationAnswer {
  return { key: node.id, challenge, verdicts, sig: signBytes(node, answerBytes({ key: node.id, challenge, verdicts })) }
}

const verifier = new SignatureVerifier()

export function checkCalibrationAsk(raw: unknown, now: number): CalibrationAsk {
  return checkTimedAsk('calibrate', 'calibration ask', raw, now)
}

/** An answer's shape and signature (what it answers is the ledger's to check). */
export function checkCalibrationAnswer(raw: unknown): CalibrationAnswer {
  const a = raw as CalibrationAnswer
  const ok =
    typeof a === 'object' &&
    a !== null &&
    Object.keys(a).sort().join(',') === 'challenge,key,sig,verdicts' &&
    typeof a.key === 'string' &&
    isLowerHex(a.key, 64) &&
    Number.isSafeInteger(a.challenge) &&
    Array.isArray(a.verdicts) &&
    a.verdicts.length <= 1_000 &&
    a.verdicts.every((v) => v === 'A' || v === 'B' || v === 'T' || v === 'U') &&
    typeof a.sig === 'string' &&
    isLowerHex(a.sig, 128)
  if (!ok) throw new LedgerError('BAD_REQUEST', 'a calibration answer is {key, challenge, verdicts: [A|B|T|U…], sig}')
  if (!verifier.verify(a.key, answerBytes(a), a.sig)) throw new LedgerError('BAD_SIGNATURE', 'the calibration answer is not signed by its key')
  return { key: a.key, challenge: a.challenge, verdicts: [...a.verdicts], sig: a.sig }
}
