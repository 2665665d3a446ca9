import { DEFAULT_CALIBRATION } from '../ledger/calibration.js'
import type { LedgerRules } from '../ledger/ledger.js'
import type { ModelBackend } from '../models/backend.js'
import { type CalibrationStatus, takeCalibration } from '../node/calibration.js'
import { ConfigError } from './modelSpec.js'
import type { SwarmLedger } from './workspaceLedger.js'

/**
 * `--calibration on|off` for the commands that make a workspace ledger (demo, up, devnet): whether
 * a node must pass a calibration challenge before its verdicts weigh anything. On by default, off
 * on tiny generated models, which judge at random and would all fail it (leaving no judges).
 */
export function calibrationRequired(flag: unknown, tiny: boolean): boolean {
  if (flag === undefined) return !tiny
  if (flag === 'on' || flag === true) return true
  if (flag === 'off' || flag === false) return false
  throw new ConfigError(`--calibration takes on or off, not ${String(flag)}`)
}

/** The genesis rules a workspace ledger is created with (an existing one keeps its own). */
export function workspaceRules(required: boolean): Partial<LedgerRules> {
  return { calibration: { ...DEFAULT_CALIBRATION, required } }
}

/** What to tell the user about the gate: the ledger's own setting rules, whatever the flag said. */
export function gateNote(ledger: SwarmLedger, asked: boolean, tiny: boolean): string {
  const required = ledger.workspace.ledger.rules().calibration?.required ?? false
  const kept = required === asked ? '' : ` (${ledger.workspace.path} was created with it ${required ? 'on' : 'off'} and keeps that; another --ledger-dir starts a new ledger)`
  if (required) return `Calibration gate on: each node judges 20 known-answer pairs and must get 17 right before its verdicts weigh anything${ledger.workspace.ledger.rules().settlement.forfeit === 'unproven' ? "; until it passes, its ticket is forfeit whenever its answer is not the winner's" : ''}${kept}.`
  return `Calibration gate off: every staked node judges${tiny ? ' (tiny generated models judge at random and would all fail it; --calibration on to require it anyway)' : ''}${kept}.`
}

/**
 * Has every in-process node take its challenge (when the workspace ledger requires one and the
 * node has not passed): one line per node as it finishes.
 */
export async function calibrateSwarm(ledger: SwarmLedger, backends: readonly ModelBackend[], out: (line: string) => void, signal?: AbortSignal): Promise<CalibrationStatus[]> {
  if (!(ledger.workspace.ledger.rules().calibration?.required ?? false)) return []
  const statuses = await Promise.all(
    backends.map(async (backend, i) => {
      const s = await takeCalibration({ identity: ledger.identities.node(i), client: ledger.client, backend, now: Date.now, ...(signal ? { signal } : {}) })
      const name = ledger.identities.node(i).id.slice(0, 8)
      if (s.state === 'passed' || s.state === 'failed') out(`  node ${name}: ${s.right} of ${s.of} right — ${s.state === 'passed' ? 'admitted as a judge' : 'not admitted (it may try again later)'}`)
      else if (s.state === 'waiting') out(`  node ${name}: not admitted; ${s.detail}`)
      return s
    }),
  )
  await ledger.network.refresh()
  return statuses
}
