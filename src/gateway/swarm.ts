import type { SignedSampling } from './samplingRequest.js'
import type { AnswerSpec } from '../consensus/answerTypes.js'
import type { SettlementReceipt } from '../ledger/ledger.js'
import type { Signed } from '../protocol/envelope.js'
import type { ChatMessage } from '../protocol/messages.js'
import type { CoordinatorPhase, PhaseTimes } from '../round/coordinator.js'
import type { RoundOutcome } from '../round/outcome.js'

/**
 * What the HTTP API needs from a swarm, whether its nodes run in this process or across a network:
 * run a round, list the nodes it knows, and count the protocol messages it dropped. The types a
 * round's caller sees (its result, its options, how it fails) live here, beside the port.
 */
export interface RoundResult {
  roundId: string
  outcome: RoundOutcome
  result: Signed<'Result'>
  transcript: readonly Signed[]
  times: PhaseTimes
  /** Tokens the members reported for their answers and verdicts. */
  usage: { prompt: number; completion: number }
  /** What the request was charged (micro-units); 0 without a ledger. */
  price: bigint
  /** The ledger's settlement of the round, when there is a ledger (undefined if it refused). */
  settlement?: Promise<SettlementReceipt | undefined>
  /** Personal data the gateway replaced before the Query went out, by kind (privacy/redaction.ts). */
  redacted?: Partial<Record<string, number>>
}

export interface AskOptions {
  signal?: AbortSignal
  /** Called when the round enters a phase (progress reporting), with the round's id. */
  onPhase?: (phase: CoordinatorPhase, at: number, round: string) => void
  /** The ledger account that pays for the round (default: the gateway's own). */
  payer?: string
  /** How the round reads and groups replies (consensus/answerTypes.ts; the API's `chorus.answer_type`). */
  answer?: AnswerSpec
  /** Domain tags for the Query (the API's `chorus.domains`). */
  domains?: string[]
  /** How members sample their answers (the API's temperature, top_p, max_tokens, seed, stop). */
  sampling?: SignedSampling
  /** Broadcast only the prompt's hash; the prompt goes to the seated members alone (the API's `chorus.private`). */
  private?: boolean
  /** Only nodes of these operator accounts may take part (the API's `chorus.operators`). */
  operators?: string[]
}

export type RoundFailure = 'NO_MEMBERS' | 'NO_ANSWERS' | 'LATE' | 'NO_BEACON' | 'ABORTED' | 'TOO_LARGE' | 'NO_DEPOSIT' | 'NO_LEDGER'

export class RoundFailedError extends Error {
  constructor(
    readonly code: RoundFailure,
    message: string,
  ) {
    super(message)
    this.name = 'RoundFailedError'
  }
}

export interface NodeInfo {
  id: string
  backend?: string
  activeRounds?: number
  capacity?: number
  /** Rounds declined, by reason (capacity, coordinator, expired, horizon, …). */
  declined?: Record<string, number>
  /** Protocol messages the node dropped (forged, malformed, late …), as it reports. */
  rejected?: number
  /** The domain tags it declares (none: it joins rounds of any domain). */
  domains?: string[]
  /** When the node last reported (ms since the epoch); absent for in-process nodes. */
  lastSeen?: number
  /** Its standing on the ledger, where there is one (amounts in micro-units as decimal strings). */
  ledger?: { eligible: boolean; stake: string; balance: string; operator: string; operatorBalance: string; answerReputationPpm: number; judgeWeight: number; rounds: number; calibrated: boolean; calibrationRight: number; calibrationTotal: number }
}

export interface Swarm {
  ask(messages: ChatMessage[], options: AskOptions): Promise<RoundResult>
  /**
   * Before any work: holds what a request may cost against its payer, or throws
   * PaymentRequiredError; returns the release. Absent without a ledger.
   */
  authorize?(payer: string | undefined, signal?: AbortSignal): Promise<() => void>
  nodes(): NodeInfo[] | Promise<NodeInfo[]>
  rejections(): Map<string, number>
  /** Fewest members a round needs; readiness means at least this many nodes. */
  readonly minMembers: number
}

/** What a client's request adds to its round's Query: answer type, domain tags, sampling, privacy, operators. */
export function requestTags(options: AskOptions): Pick<AskOptions, 'answer' | 'domains' | 'sampling' | 'private' | 'operators'> {
  return {
    ...(options.operators === undefined ? {} : { operators: options.operators }),
    ...(options.private ? { private: true } : {}),
    ...(options.answer === undefined ? {} : { answer: options.answer }),
    ...(options.domains === undefined ? {} : { domains: options.domains }),
    ...(options.sampling === undefined ? {} : { sampling: options.sampling }),
  }
}
