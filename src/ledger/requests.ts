import { canonicalJson } from '../crypto/canonical.js'
import { type Identity, isNodeId, SignatureVerifier, signBytes } from '../crypto/identity.js'
import { isLowerHex } from '../crypto/hex.js'
import { parseAmount } from './amount.js'
import type { AccountKind } from './ledger.js'
import { LedgerError } from './ledger.js'

/**
 * An account's own write to the ledger, signed by a key that acts for it: nobody else can stake,
 * unbond or rotate its keys. The nonce must be the account's next one, so a request is applied
 * once: a replay, or a request signed for another moment, is refused. Registration names the new
 * account's kind (and, for a node, the operator account it belongs to) and is signed by its key.
 * An operator account owns nodes (their rewards are paid to it); a client account pays for requests
 * through the gateways it allows.
 */
export type AccountOp =
  | { op: 'register'; kind: AccountKind; operator?: string }
  | { op: 'stake'; amount: string }
  | { op: 'unbond'; amount: string }
  | { op: 'withdraw' }
  | { op: 'rotate'; newKey: string }
  /** A client lets a gateway charge it up to `amount` in all (0 revokes); metering draws it down. */
  | { op: 'allow'; gateway: string; amount: string }
  /**
   * Hands `amount` of the balance to the custody chain (ledger/evm): it leaves the ledger, and once
   * a batch holding it is final, the chain pays it to the EVM address `to` (the newest one named).
   */
  | { op: 'release'; amount: string; to: string }

export interface AccountRequest {
  /** The key that signs (one of the account's keys; for register, the new account's key). */
  key: string
  nonce: number
  body: AccountOp
  sig: string
}

const signed = (r: Omit<AccountRequest, 'sig'>) => Buffer.from(`chorus/ledger/v1/request\n${canonicalJson({ body: r.body, key: r.key, nonce: r.nonce })}`, 'utf8')

export function signRequest(identity: Identity, nonce: number, body: AccountOp): AccountRequest {
  const unsigned = { key: identity.id, nonce, body }
  return { ...unsigned, sig: signBytes(identity, signed(unsigned)) }
}

const verifier = new SignatureVerifier()

/** Checks a request's shape and signature; throws LedgerError saying what is wrong. */
export function checkRequest(raw: unknown): AccountRequest {
  const r = raw as AccountRequest
  if (typeof r !== 'object' || r === null || typeof r.key !== 'string' || !isNodeId(r.key)) throw new LedgerError('BAD_REQUEST', 'a request needs the signing key (an ed25519 public key in hex)')
  if (!Number.isSafeInteger(r.nonce) || r.nonce < 0) throw new LedgerError('BAD_REQUEST', 'a request needs a nonce (a whole number)')
  if (typeof r.sig !== 'string' || !isLowerHex(r.sig, 128)) throw new LedgerError('BAD_REQUEST', 'a request needs its signature')
  const b = r.body as AccountOp
  if (typeof b !== 'object' || b === null) throw new LedgerError('BAD_REQUEST', 'a request needs a body')
  const keys = Object.keys(b).sort().join(',')
  const ok =
    (b.op === 'register' && ['node', 'gateway', 'client', 'operator'].includes(b.kind) && (keys === 'kind,op' || (keys === 'kind,op,operator' && (b.kind === 'node' || b.kind === 'gateway') && typeof b.operator === 'string' && isNodeId(b.operator)))) ||
    ((b.op === 'stake' || b.op === 'unbond') && keys === 'amount,op' && typeof b.amount === 'string' && amountOk(b.amount)) ||
    (b.op === 'withdraw' && keys === 'op') ||
    (b.op === 'rotate' && keys === 'newKey,op' && typeof b.newKey === 'string' && isNodeId(b.newKey)) ||
    (b.op === 'allow' && keys === 'amount,gateway,op' && typeof b.gateway === 'string' && isNodeId(b.gateway) && typeof b.amount === 'string' && amountOk(b.amount, true)) ||
    (b.op === 'release' && keys === 'amount,op,to' && typeof b.amount === 'string' && amountOk(b.amount) && typeof b.to === 'string' && /^0x[0-9a-f]{40}$/.test(b.to))
  if (!ok) throw new LedgerError('BAD_REQUEST', `not a valid ${String((b as { op?: unknown }).op)} request`)
  if (!verifier.verify(r.key, signed(r), r.sig)) throw new LedgerError('BAD_SIGNATURE', 'the request is not signed by its key')
  return { key: r.key, nonce: r.nonce, body: b, sig: r.sig }
}

function amountOk(s: string, zero = false): boolean {
  try {
    const x = parseAmount(s)
    return zero ? x >= 0n : x > 0n
  } catch {
    return false
  }
}
