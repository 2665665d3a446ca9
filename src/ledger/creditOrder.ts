import { canonicalJson } from '../crypto/canonical.js'
import { type Identity, SignatureVerifier, signBytes } from '../crypto/identity.js'
import { isLowerHex } from '../crypto/hex.js'
import { parseAmount } from './amount.js'
import { LedgerError } from './ledger.js'

/**
 * The operator's faucet over the network: a credit signed by the ledger operator's key, for a
 * moment (`at`). A served ledger takes one only within a minute of that moment and only once, so a
 * captured order cannot be replayed later.
 */
export interface CreditOrder {
  account: string
  amount: string
  at: number
  sig: string
}

const signed = (o: Omit<CreditOrder, 'sig'>) => Buffer.from(`chorus/ledger/v1/credit\n${canonicalJson({ account: o.account, amount: o.amount, at: o.at })}`, 'utf8')

export function signCreditOrder(operator: Identity, account: string, amount: bigint, at: number): CreditOrder {
  const o = { account, amount: amount.toString(), at }
  return { ...o, sig: signBytes(operator, signed(o)) }
}

const verifier = new SignatureVerifier()

export function checkCreditOrder(raw: unknown, operator: string): CreditOrder {
  const o = raw as CreditOrder
  if (typeof o !== 'object' || o === null || typeof o.account !== 'string' || !isLowerHex(o.account, 64) || typeof o.amount !== 'string' || !Number.isSafeInteger(o.at) || typeof o.sig !== 'string' || !isLowerHex(o.sig, 128)) {
    throw new LedgerError('BAD_REQUEST', 'a credit order is {account, amount, at, sig}')
  }
  try {
    parseAmount(o.amount)
  } catch {
    throw new LedgerError('BAD_REQUEST', 'a credit amount is a whole number of micro-units')
  }
  if (!verifier.verify(operator, signed(o), o.sig)) throw new LedgerError('BAD_SIGNATURE', 'a credit must be signed by the ledger operator')
  return { account: o.account, amount: o.amount, at: o.at, sig: o.sig }
}
