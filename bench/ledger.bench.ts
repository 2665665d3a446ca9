import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashParts } from '../src/crypto/hash.js'
import { identityFromSeed } from '../src/crypto/identity.js'
import { DRIVER_COORDINATOR, type DriverNode, driveRound } from '../src/eval/roundDriver.js'
import { signRequest } from '../src/ledger/requests.js'
import { SqliteLedger } from '../src/ledger/sqliteLedger.js'
import { type Figure, median } from './stats.js'

/**
 * The SQLite ledger settling real rounds (signed by the real state machines): verify every
 * signature, commitment and seal, recompute the outcome, pay out and update reputation, in one
 * transaction on a file with full sync. `settle_verify_35_ms` is one 35-member round, single
 * threaded; `ledger_settlements_per_s` is 300 seven-member rounds back to back.
 */
export const figures = ['settle_verify_35_ms', 'ledger_settlements_per_s']

const key = (label: string) => identityFromSeed(Buffer.from(hashParts('ledger-bench', label), 'hex'))

async function ledgerWith(nodes: number) {
  const dir = await mkdtemp(join(tmpdir(), 'chorus-ledger-bench-'))
  const ledger = SqliteLedger.open({ path: join(dir, 'ledger.sqlite'), operator: key('operator') })
  ledger.submit(signRequest(DRIVER_COORDINATOR, 0, { op: 'register', kind: 'gateway' }))
  ledger.credit(DRIVER_COORDINATOR.id, 10n ** 15n)
  const members: DriverNode[] = Array.from({ length: nodes }, (_, i) => {
    const identity = key(`node-${i}`)
    ledger.submit(signRequest(identity, 0, { op: 'register', kind: 'node' }))
    ledger.credit(identity.id, 2_000_000n)
    ledger.submit(signRequest(identity, 1, { op: 'stake', amount: '2000000' }))
    return { identity, answer: `answer ${i % 4}`, judge: (t) => (t.a < t.b ? 'A' : 'B') }
  })
  return { dir, ledger, members }
}

/** `count` rounds, all at the ledger's current head (a head stays valid: the ledger keeps its history). */
function transcripts(ledger: SqliteLedger, members: DriverNode[], count: number, from: number) {
  const view = ledger.viewAt(ledger.head())!
  return Array.from({ length: count }, (_, r) => driveRound(members, `question ${from + r}`, view, from + r, undefined, { fee: '1000000', ticket: '10000' }).done.transcript.map((m) => m.env))
}

export async function run(): Promise<Figure[]> {
  const big = await ledgerWith(35)
  const small = await ledgerWith(7)
  try {
    const rounds35 = transcripts(big.ledger, big.members, 25, 0)
    const times: number[] = []
    for (const t of rounds35) {
      const t0 = performance.now()
      big.ledger.settle(t)
      times.push(performance.now() - t0)
    }
    const rounds7 = transcripts(small.ledger, small.members, 330, 0)
    for (const t of rounds7.slice(0, 30)) small.ledger.settle(t)
    const t0 = performance.now()
    for (const t of rounds7.slice(30)) small.ledger.settle(t)
    const perS = 300 / ((performance.now() - t0) / 1000)
    return [
      { name: 'settle_verify_35_ms', value: median(times.slice(5)), unit: 'ms' },
      { name: 'ledger_settlements_per_s', value: perS, unit: 'rounds/s' },
    ]
  } finally {
    big.ledger.close()
    small.ledger.close()
    await rm(big.dir, { recursive: true, force: true })
    await rm(small.dir, { recursive: true, force: true })
  }
}
