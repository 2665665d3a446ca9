import { hashParts } from '../../src/crypto/hash.js'
import type { Identity } from '../../src/crypto/identity.js'
import type { CalibrationTask } from '../../src/ledger/calibration.js'
import { CalibrationPool, calibrationSeed } from '../../src/ledger/calibrationPool.js'
import { LedgerError } from '../../src/ledger/ledger.js'
import type { JudgeReply, JudgeRequest } from '../../src/models/backend.js'
import { InstantBackend } from '../../src/models/instant.js'

/**
 * Judges for calibration tests: a capable one knows the right answers (it rebuilds the ledger
 * operator's item pool, which a test may and a node cannot); a guessing one tosses a fixed coin.
 */
class ScriptedJudge extends InstantBackend {
  private n = 0
  constructor(private readonly pick: (task: JudgeRequest, i: number) => JudgeReply['verdict']) {
    super('judge')
  }
  override async judge(request: JudgeRequest): Promise<JudgeReply> {
    return { verdict: this.pick(request, this.n++) }
  }
}

/** The right verdict on a task of `operator`'s ledger's challenges. */
export function rightVerdict(operator: Identity): (task: CalibrationTask) => 'A' | 'B' {
  const pool = new CalibrationPool(calibrationSeed(operator))
  return (task) => {
    for (let slot = 0; slot < 2_000; slot++) {
      const it = pool.item(slot)
      if (it.question === task.question && (it.right === task.first || it.wrong === task.first)) return it.right === task.first ? 'A' : 'B'
    }
    throw new Error('no such item')
  }
}

export const coin = (...parts: string[]) => Number.parseInt(hashParts('coin', ...parts).slice(0, 4), 16) / 0x10000

export const capableJudge = (operator: Identity) => {
  const right = rightVerdict(operator)
  return new ScriptedJudge((task) => right(task))
}

export const guessingJudge = (label: string) => new ScriptedJudge((_task, i) => (coin(label, String(i)) < 0.5 ? 'A' : 'B'))

/** The code of the LedgerError `fn` throws, or 'accepted'. */
export function ledgerCode(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (err instanceof LedgerError) return err.code
    throw err
  }
  return 'accepted'
}
