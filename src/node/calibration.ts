import type { Identity } from '../crypto/identity.js'
import { type CalibrationVerdict, signCalibrationAnswer, signCalibrationAsk } from '../ledger/calibration.js'
import { LedgerError } from '../ledger/ledger.js'
import type { LedgerClient } from '../ledger/networkLedger.js'
import type { ModelBackend } from '../models/backend.js'

/**
 * The node's side of proof of capability (ledger/calibration.ts): ask the ledger for a challenge,
 * judge its known-answer pairs with this node's own model, and send the signed verdicts. A node
 * whose ledger does not require it, or that is calibrated already, has nothing to do; one that
 * failed waits, and `CalibrationKeeper` tries again when the wait is over.
 */
export type CalibrationStatus =
  | { state: 'passed' | 'failed'; right: number; of: number }
  | { state: 'calibrated' | 'not-required' }
  | { state: 'waiting'; detail: string }

export interface CalibrationDeps {
  identity: Identity
  client: Pick<LedgerClient, 'calibrationChallenge' | 'answerCalibration'>
  backend: ModelBackend
  now: () => number
  signal?: AbortSignal
}

export async function takeCalibration(d: CalibrationDeps): Promise<CalibrationStatus> {
  const opts = d.signal ? { signal: d.signal } : {}
  let challenge
  try {
    challenge = await d.client.calibrationChallenge(signCalibrationAsk(d.identity, d.now()), opts)
  } catch (err) {
    if (err instanceof LedgerError && err.code === 'NOT_REQUIRED') return { state: 'not-required' }
    if (err instanceof LedgerError && err.code === 'EXISTS') return { state: 'calibrated' }
    if (err instanceof LedgerError && err.code === 'NOT_YET') return { state: 'waiting', detail: err.message }
    throw err
  }
  const verdicts: CalibrationVerdict[] = []
  for (const task of challenge.tasks) {
    // One at a time: the node's model is shared with the rounds it serves.
    const reply = await d.backend.judge(task, opts).catch(() => ({ verdict: 'U' as const }))
    verdicts.push(reply.verdict)
  }
  const result = await d.client.answerCalibration(signCalibrationAnswer(d.identity, challenge.id, verdicts), opts)
  return { state: result.passed ? 'passed' : 'failed', right: result.right, of: result.of }
}

/** A status as a line for an operator. */
export function calibrationLine(s: CalibrationStatus | Error): string {
  if (s instanceof Error) return `calibration: could not take the challenge: ${s.message}`
  switch (s.state) {
    case 'passed':
      return `calibration: ${s.right} of ${s.of} known-answer pairs right — admitted as a judge`
    case 'failed':
      return `calibration: ${s.right} of ${s.of} known-answer pairs right — not admitted as a judge (it answers rounds; it tries again later)`
    case 'waiting':
      return `calibration: not admitted as a judge yet; ${s.detail}`
    case 'calibrated':
      return 'calibration: admitted as a judge'
    case 'not-required':
      return 'calibration: this ledger does not require it'
  }
}

/** How often an uncalibrated node asks again (a failed one's wait is the ledger's to enforce). */
export const CALIBRATION_RETRY_MS = 600_000

/**
 * Keeps a node calibrated: takes the challenge at start, and again every `everyMs` while it is not
 * (after a failure, or once its weight fell below the floor and the ledger wants a new pass).
 */
export class CalibrationKeeper {
  private timer: NodeJS.Timeout | undefined
  private readonly controller = new AbortController()
  private running: Promise<void> | undefined
  last: CalibrationStatus | undefined

  constructor(
    private readonly deps: Omit<CalibrationDeps, 'signal'>,
    private readonly report: (status: CalibrationStatus | Error) => void,
    private readonly everyMs = CALIBRATION_RETRY_MS,
  ) {}

  /** Resolves after the first attempt (so a caller can say how it went). */
  async start(): Promise<CalibrationStatus | undefined> {
    await this.attempt()
    this.timer = setInterval(() => {
      if (this.running === undefined && this.last?.state !== 'not-required') void this.attempt()
    }, this.everyMs)
    this.timer.unref()
    return this.last
  }

  private attempt(): Promise<void> {
    this.running = takeCalibration({ ...this.deps, signal: this.controller.signal }).then(
      (s) => {
        this.last = s
        this.report(s)
      },
      (err: unknown) => {
        if (!this.controller.signal.aborted) this.report(err instanceof Error ? err : new Error(String(err)))
      },
    )
    return this.running.finally(() => (this.running = undefined))
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.controller.abort()
    await this.running
  }
}
