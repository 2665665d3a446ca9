import { canonicalJson } from '../crypto/canonical.js'
import { type Identity, SignatureVerifier, signBytes } from '../crypto/identity.js'
import { isLowerHex } from '../crypto/hex.js'
import { parseAmount } from './amount.js'
import { type Charge, LedgerError } from './ledger.js'

/**
 * A metered request's price, signed by the gateway that coordinated the round, for that round
 * only: the ledger (and everyone replaying it) checks the signature against the round's
 * coordinator, so neither the ledger operator nor another gateway can spend a client's allowance.
 */
const signed = (round: string, c: Omit<Charge, 'sig'>) =>
  Buffer.from(`chorus/ledger/v1/charge\n${canonicalJson({ account: c.account, amount: c.amount, cutBp: c.cutBp, round })}`, 'utf8')

export function signCharge(gateway: Identity, round: string, c: Omit<Charge, 'sig'>): Charge {
  return { account: c.account, amount: c.amount, cutBp: c.cutBp, sig: signBytes(gateway, signed(round, c)) }
}

/** Checks a charge's shape; throws LedgerError saying what is wrong. */
export function checkCharge(raw: unknown): Charge {
  const c = raw as Charge
  const ok =
    typeof c === 'object' &&
    c !== null &&
    Object.keys(c).sort().join(',') === 'account,amount,cutBp,sig' &&
    typeof c.account === 'string' &&
    isLowerHex(c.account, 64) &&
    typeof c.sig === 'string' &&
    isLowerHex(c.sig, 128) &&
    Number.isInteger(c.cutBp) &&
    c.cutBp >= 0 &&
    c.cutBp <= 10_000
  if (!ok) throw new LedgerError('BAD_REQUEST', 'a charge is {account, amount, cutBp, sig}')
  try {
    parseAmount(c.amount)
  } catch {
    throw new LedgerError('BAD_REQUEST', 'a charge amount is a whole number of micro-units')
  }
  return { account: c.account, amount: c.amount, cutBp: c.cutBp, sig: c.sig }
}

const verifier = new SignatureVerifier()

export function chargeSignedBy(c: Charge, round: string, gateway: string): boolean {
  return verifier.verify(gateway, signed(round, c), c.sig)
}
