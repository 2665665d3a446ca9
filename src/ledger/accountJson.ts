import type { AccountState, LedgerErrorCode, SettlementReceipt } from './ledger.js'

/**
 * Ledger values as JSON over HTTP: amounts (bigint) travel as decimal strings, and a refused write
 * travels as `{error: {code, message}}` with a status that says what kind of refusal it is.
 */
export type AccountJson = Omit<AccountState, 'balance' | 'stake' | 'unbonding'> & { balance: string; stake: string; unbonding: string }

export function accountToJson(a: AccountState): AccountJson {
  return { ...a, balance: a.balance.toString(), stake: a.stake.toString(), unbonding: a.unbonding.toString() }
}

export function accountFromJson(a: AccountJson): AccountState {
  return { ...a, balance: BigInt(a.balance), stake: BigInt(a.stake), unbonding: BigInt(a.unbonding) }
}

export type ReceiptJson = { round: string; seq: number; pool: string; charged: string; rewards: Record<string, string>; forfeits: Record<string, string> }

const amounts = (m: Record<string, bigint>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.toString()]))
const bigints = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, BigInt(v)]))

export function receiptToJson(r: SettlementReceipt): ReceiptJson {
  return { round: r.round, seq: r.seq, pool: r.pool.toString(), charged: r.charged.toString(), rewards: amounts(r.rewards), forfeits: amounts(r.forfeits) }
}

export function receiptFromJson(r: ReceiptJson): SettlementReceipt {
  return { round: r.round, seq: r.seq, pool: BigInt(r.pool), charged: BigInt(r.charged), rewards: bigints(r.rewards), forfeits: bigints(r.forfeits) }
}

export const ERROR_STATUS: Record<LedgerErrorCode, number> = {
  BAD_REQUEST: 400,
  BAD_SIGNATURE: 401,
  BAD_NONCE: 409,
  UNKNOWN_ACCOUNT: 404,
  EXISTS: 409,
  INSUFFICIENT_FUNDS: 402,
  NOT_YET: 409,
  INVALID_TRANSCRIPT: 422,
  UNKNOWN_HEAD: 422,
  ALREADY_SETTLED: 409,
  EXPIRED: 410,
  CLOSED: 409,
  NOT_REQUIRED: 409,
  INELIGIBLE: 403,
  NOT_A_GATEWAY: 403,
  CORRUPT: 500,
}
