import type { LedgerClient, NetworkLedger } from '../ledger/networkLedger.js'
import type { NodeInfo } from './swarm.js'

/**
 * Adds each node's ledger standing to what /v1/nodes shows: eligibility, judge weight and answerer
 * reputation at the newest head this gateway knows, its account's stake and balance, and the
 * balance of the operator it belongs to (where its rewards go). A node the ledger does not know is
 * shown without them.
 */
export async function withStanding(infos: NodeInfo[], ledger: NetworkLedger, client: LedgerClient): Promise<NodeInfo[]> {
  const standing = ledger.latest()
  return Promise.all(
    infos.map(async (info) => {
      const id = await client.accountOfKey(info.id).catch(() => undefined)
      const account = id === undefined ? undefined : await client.account(id).catch(() => undefined)
      if (account === undefined) return info
      const operator = account.operator === account.id ? account : await client.account(account.operator).catch(() => undefined)
      return {
        ...info,
        ledger: {
          eligible: standing.eligible(info.id),
          stake: account.stake.toString(),
          balance: account.balance.toString(),
          operator: account.operator,
          operatorBalance: (operator ?? account).balance.toString(),
          answerReputationPpm: account.reputation.answerPpm,
          judgeWeight: standing.judgeWeight(info.id),
          rounds: account.reputation.answerRounds,
          // Passed a calibration challenge (and not fallen below the floor since); known-answer judgements graded.
          calibrated: account.reputation.calibrated,
          calibrationRight: account.reputation.calRight,
          calibrationTotal: account.reputation.calTotal,
        },
      }
    }),
  )
}
