import { logOddsWeight } from '../consensus/judgeWeights.js'
import { hashParts } from '../crypto/hash.js'

/**
 * Judge weights learned the way the network learns them: a share of questions are calibration
 * items whose right answer (or people's verdicts) the ledger knows. They are not scored; each
 * judge's verdicts on them grade it, and later rounds weigh it by the log-odds of its accuracy
 * estimate (a Beta prior worth 4 verdicts at 0.75, so one lucky or unlucky item moves it little).
 */
export function isCalibrationItem(id: string, share: number): boolean {
  // A fixed hash of the question id: every run, and every method, picks the same items.
  return share > 0 && Number.parseInt(hashParts('calibration', id).slice(0, 8), 16) / 2 ** 32 < share
}

interface RevealedVerdicts {
  env: { type: string; from: string; body: unknown }
}

export class CalibrationRecords {
  private readonly right: Float64Array
  private readonly total: Float64Array

  /** Records for judges 0 … judges − 1. */
  constructor(judges: number) {
    this.right = new Float64Array(judges)
    this.total = new Float64Array(judges)
  }

  /**
   * Grades every judge in a round's transcript. `firstWins(a, b)` says whether the answer shown
   * first should win, or undefined where the pair teaches nothing; abstentions are not graded and
   * a tie counts half.
   */
  grade(transcript: readonly RevealedVerdicts[], judgeIndex: (node: string) => number, firstWins: (a: string, b: string) => boolean | undefined): void {
    for (const m of transcript) {
      if (m.env.type !== 'VerdictReveal') continue
      const judge = judgeIndex(m.env.from)
      for (const v of (m.env.body as { verdicts: { a: string; b: string; v: string }[] }).verdicts) {
        const first = firstWins(v.a, v.b)
        if (first === undefined || v.v === 'U') continue
        this.total[judge]!++
        this.right[judge]! += v.v === 'T' ? 0.5 : (v.v === 'A') === first ? 1 : 0
      }
    }
  }

  /** The judge weight judge i has earned so far. */
  weight(i: number): number {
    return logOddsWeight((this.right[i]! + 3) / (this.total[i]! + 4))
  }
}
