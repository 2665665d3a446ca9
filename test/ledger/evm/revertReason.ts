import { ContractRevert } from '../../../src/ledger/evm/contractCall.js'

/** 'accepted', or the contract's own reason for refusing the call (anything else is thrown on). */
export const revertReason = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'accepted',
    (err: unknown) => {
      if (err instanceof ContractRevert) return err.reason
      throw err
    },
  )
