import type { BeaconPhase } from '../round/beacons.js'
import type { BeaconIssue, BeaconRequest } from './beaconRequest.js'
import type { TicketLock, TicketLockRequest } from './ticketLock.js'
import type { CalibrationAnswer, CalibrationAsk, CalibrationResult, Challenge } from './calibration.js'
import type { HiddenAsk, HiddenItem, HiddenReveal } from './hiddenRounds.js'
import { type AccountJson, accountFromJson, ERROR_STATUS, type ReceiptJson, receiptFromJson } from './accountJson.js'
import type { Micro } from './amount.js'
import type { CreditOrder } from './creditOrder.js'
import { type AccountState, type Charge, LedgerError, type LedgerErrorCode, type LogEntry, type SettlementReceipt } from './ledger.js'
import type { LedgerClient } from './networkLedger.js'
import type { Signed } from '../protocol/envelope.js'
import type { AccountRequest } from './requests.js'
import { fromJson, type Proposal, proposalFromJson, type PublishedBatch } from './evm/proposal.js'
import type { BatchHeader } from './evm/batch.js'
import { parseSnapshot, type StandingSnapshot } from './standing.js'
import { JsonHttp, type JsonReply } from './jsonHttp.js'

/**
 * A ledger served by `chorus ledger serve`, reached over HTTP. A refusal comes back as the
 * LedgerError the ledger raised (same code, same message); a ledger that cannot be reached, or
 * answers nonsense, is a LedgerUnreachableError. Every call gives up after `timeoutMs`.
 */
export class LedgerUnreachableError extends Error {
  readonly code = 'LEDGER_UNREACHABLE'
  constructor(message: string) {
    super(message)
    this.name = 'LedgerUnreachableError'
  }
}

const CODES = new Set(Object.keys(ERROR_STATUS))

const baseQuery = (base: string | undefined) => (base === undefined ? '' : `?base=${encodeURIComponent(base)}`)

/** A change must be from the base asked for (or the answer a whole snapshot). */
function checkBase(snap: StandingSnapshot, base: string | undefined): StandingSnapshot {
  if (snap.base !== undefined && snap.base !== base) throw new LedgerUnreachableError('the ledger answered with a change from another head')
  return snap
}

export class HttpLedgerClient implements LedgerClient {
  private readonly base: string
  private readonly http: JsonHttp

  constructor(
    url: string,
    private readonly timeoutMs = 10_000,
  ) {
    this.base = url.replace(/\/+$/, '')
    this.http = new JsonHttp(this.base)
  }

  async info(options: { signal?: AbortSignal } = {}): Promise<{ operator: string; head: string; seq: number }> {
    return (await this.call('GET', '/v1/ledger', undefined, options)) as { operator: string; head: string; seq: number }
  }

  async latest(options: { signal?: AbortSignal; base?: string } = {}): Promise<StandingSnapshot> {
    const snap = parseSnapshot(await this.call('GET', `/v1/ledger/standing/latest${baseQuery(options.base)}`, undefined, options))
    return checkBase(snap, options.base)
  }

  async standingAt(head: string, options: { signal?: AbortSignal; base?: string } = {}): Promise<StandingSnapshot | undefined> {
    const s = await this.call('GET', `/v1/ledger/standing/${encodeURIComponent(head)}${baseQuery(options.base)}`, undefined, options, true)
    if (s === undefined) return undefined
    const snap = checkBase(parseSnapshot(s), options.base)
    if (snap.head !== head) throw new LedgerUnreachableError('the ledger answered for another head')
    return snap
  }

  async account(id: string, options: { signal?: AbortSignal } = {}): Promise<AccountState | undefined> {
    const a = await this.call('GET', `/v1/ledger/accounts/${encodeURIComponent(id)}`, undefined, options, true)
    return a === undefined ? undefined : accountFromJson(a as AccountJson)
  }

  async accountOfKey(key: string, options: { signal?: AbortSignal } = {}): Promise<string | undefined> {
    const r = await this.call('GET', `/v1/ledger/keys/${encodeURIComponent(key)}`, undefined, options, true)
    return (r as { account?: string } | undefined)?.account
  }

  async allowance(client: string, gateway: string, options: { signal?: AbortSignal } = {}): Promise<Micro> {
    const r = (await this.call('GET', `/v1/ledger/allowances/${encodeURIComponent(client)}/${encodeURIComponent(gateway)}`, undefined, options)) as { amount: string }
    return BigInt(r.amount)
  }

  async submit(request: AccountRequest, options: { signal?: AbortSignal } = {}): Promise<LogEntry> {
    return (await this.call('POST', '/v1/ledger/requests', request, options)) as LogEntry
  }

  async credit(order: CreditOrder, options: { signal?: AbortSignal } = {}): Promise<{ seq: number; hash: string }> {
    return (await this.call('POST', '/v1/ledger/credits', order, options)) as { seq: number; hash: string }
  }

  async settle(messages: readonly Signed[], charge?: Charge, options: { signal?: AbortSignal } = {}): Promise<SettlementReceipt> {
    const transcript = messages.map((m) => m.env)
    return receiptFromJson((await this.call('POST', '/v1/ledger/settlements', charge === undefined ? { transcript } : { transcript, charge }, options)) as ReceiptJson)
  }

  async beacon(request: BeaconRequest, options: { signal?: AbortSignal } = {}): Promise<BeaconIssue> {
    return (await this.call('POST', '/v1/ledger/beacons', request, options)) as BeaconIssue
  }

  async lockTicket(request: TicketLockRequest, options: { signal?: AbortSignal } = {}): Promise<TicketLock> {
    return (await this.call('POST', '/v1/ledger/locks', request, options)) as TicketLock
  }

  async calibrationChallenge(ask: CalibrationAsk, options: { signal?: AbortSignal } = {}): Promise<Challenge> {
    return (await this.call('POST', '/v1/ledger/calibration', ask, options)) as Challenge
  }

  async answerCalibration(answer: CalibrationAnswer, options: { signal?: AbortSignal } = {}): Promise<CalibrationResult> {
    return (await this.call('POST', '/v1/ledger/calibration/answers', answer, options)) as CalibrationResult
  }

  async hiddenItem(ask: HiddenAsk, options: { signal?: AbortSignal } = {}): Promise<HiddenItem> {
    return (await this.call('POST', '/v1/ledger/calibration/items', ask, options)) as HiddenItem
  }

  async revealHiddenRound(reveal: HiddenReveal, options: { signal?: AbortSignal } = {}): Promise<{ graded: number }> {
    return (await this.call('POST', '/v1/ledger/calibration/reveals', reveal, options)) as { graded: number }
  }

  async beaconOf(round: string, phase: BeaconPhase, options: { signal?: AbortSignal } = {}): Promise<BeaconIssue | undefined> {
    return (await this.call('GET', `/v1/ledger/beacons/${encodeURIComponent(round)}/${encodeURIComponent(phase)}`, undefined, options, true)) as BeaconIssue | undefined
  }

  async entries(fromSeq: number, limit: number, options: { signal?: AbortSignal } = {}): Promise<LogEntry[]> {
    return ((await this.call('GET', `/v1/ledger/log?from=${fromSeq}&limit=${limit}`, undefined, options)) as { entries: LogEntry[] }).entries
  }

  /** The batch the sequencer proposes to a custody chain, with the signatures gathered (ledger/evm/proposal.ts). */
  async batchProposal(options: { signal?: AbortSignal } = {}): Promise<Proposal | undefined> {
    const json = await this.call('GET', '/v1/ledger/batches/proposal', undefined, options, true)
    return json === undefined ? undefined : proposalFromJson(JSON.stringify(json))
  }

  /** The newest posted batches' headers, newest first (undefined: this ledger is not anchored on a chain). */
  async anchoredBatches(limit: number, options: { signal?: AbortSignal } = {}): Promise<BatchHeader[] | undefined> {
    const json = await this.call('GET', `/v1/ledger/batches?limit=${limit}`, undefined, options, true)
    return json === undefined ? undefined : (fromJson(JSON.stringify(json)) as BatchHeader[])
  }

  /** A posted batch's header and body, as the sequencer published them (undefined: not here). */
  async publishedBatch(index: bigint, options: { signal?: AbortSignal } = {}): Promise<PublishedBatch | undefined> {
    const json = await this.call('GET', `/v1/ledger/batches/${index}`, undefined, options, true)
    return json === undefined ? undefined : (fromJson(JSON.stringify(json)) as PublishedBatch)
  }

  /** A verifier's EIP-712 signature of the proposed batch; how many it has now. */
  async signBatchProposal(signature: { index: string; signer: string; signature: string }, options: { signal?: AbortSignal } = {}): Promise<{ signatures: number }> {
    return (await this.call('POST', '/v1/ledger/batches/proposal/signatures', signature, options)) as { signatures: number }
  }

  /** `absent`: a 404 is an answer (undefined), not an error. */
  private async call(method: string, path: string, body: unknown, options: { signal?: AbortSignal }, absent = false): Promise<unknown> {
    const signals = [AbortSignal.timeout(this.timeoutMs), ...(options.signal ? [options.signal] : [])]
    let reply: JsonReply
    try {
      reply = await this.http.request(method, `${this.base}${path}`, body, AbortSignal.any(signals))
    } catch (err) {
      throw new LedgerUnreachableError(`the ledger at ${this.base} cannot be reached: ${(err as Error).message}`)
    }
    const { status, json } = reply
    if (json === undefined) throw new LedgerUnreachableError(`the ledger at ${this.base} answered ${status} without JSON`)
    if (status >= 200 && status < 300) return json
    if (absent && status === 404) return undefined
    const e = (json as { error?: { code?: string; message?: string } }).error
    if (e !== undefined && typeof e.code === 'string' && CODES.has(e.code)) throw new LedgerError(e.code as LedgerErrorCode, String(e.message))
    throw new LedgerUnreachableError(`the ledger at ${this.base} answered ${status}: ${e?.message ?? 'no reason'}`)
  }
}
