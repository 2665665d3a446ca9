import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashParts } from '../src/crypto/hash.js'
import { verify } from 'node:crypto'
import { identityFromSeed, PublicKeyCache, SignatureVerifier, signBytes } from '../src/crypto/identity.js'
import type { PendingSettlement } from '../src/ledger/ledger.js'
import { MAX_SETTLEMENTS_PER_WRITE, WriteGatherer } from '../src/ledger/writeGatherer.js'
import { DRIVER_COORDINATOR, type DriverLedger, type DriverNode, driveRound } from '../src/eval/roundDriver.js'
import { signBeaconRequest } from '../src/ledger/beaconRequest.js'
import { CURRENT_RULES } from '../src/protocol/rulesVersions.js'
import { signRequest } from '../src/ledger/requests.js'
import { SqliteLedger } from '../src/ledger/sqliteLedger.js'
import { verifyLedger } from '../src/ledger/verifyLedger.js'
import { type Figure, median } from './stats.js'

/**
 * The SQLite ledger settling real rounds (signed by the real state machines): verify every
 * signature, commitment and seal, recompute the outcome, pay out and update reputation, in one
 * transaction on a file with full sync. `settle_verify_35_ms` is one 35-member round, single
 * threaded (its 182 signatures checked one after another); `ledger_settlements_per_s` is 300
 * seven-member rounds settled as `ledger serve` settles them: envelopes opened on worker threads,
 * several rounds at once, then applied in one write per gathering of those ready together
 * (`..._serial_per_s`: each round whole, one write each, one after another). Every round is a
 * rules-3 round: its tickets were locked and its beacons issued by this ledger. `ledger_open_rounds_per_s` is the worker threads alone opening those rounds: the
 * ceiling the writer works under. `ed25519_verify_us` is one signature check here, the yardstick
 * for all of them: a 35-member round cannot settle in less than 182 of them on one thread, and a
 * seven-member round holds 42.
 */
export const figures = ['settle_verify_35_ms', 'ledger_settlements_per_s', 'ledger_settlements_serial_per_s', 'ledger_open_rounds_per_s', 'ledger_verify_settlements_per_s', 'ed25519_verify_us', 'ed25519_verify_openssl_us', 'standing_change_bytes_1000', 'standing_whole_bytes_1000']

const key = (label: string) => identityFromSeed(Buffer.from(hashParts('ledger-bench', label), 'hex'))

export async function ledgerWith(nodes: number) {
  const dir = await mkdtemp(join(tmpdir(), 'chorus-ledger-bench-'))
  const ledger = SqliteLedger.open({ path: join(dir, 'ledger.sqlite'), operator: key('operator') })
  // Enough stake for every bench round's ticket to be locked at once.
  const stake = String(10n ** 12n)
  ledger.submit(signRequest(DRIVER_COORDINATOR, 0, { op: 'register', kind: 'gateway' }))
  ledger.credit(DRIVER_COORDINATOR.id, 10n ** 15n)
  ledger.submit(signRequest(DRIVER_COORDINATOR, 1, { op: 'stake', amount: String(10n ** 15n) }))
  const members: DriverNode[] = Array.from({ length: nodes }, (_, i) => {
    const identity = key(`node-${i}`)
    ledger.submit(signRequest(identity, 0, { op: 'register', kind: 'node' }))
    ledger.credit(identity.id, BigInt(stake))
    ledger.submit(signRequest(identity, 1, { op: 'stake', amount: stake }))
    return { identity, answer: `answer ${i % 4}`, judge: (t) => (t.a < t.b ? 'A' : 'B') }
  })
  return { dir, ledger, members }
}

/**
 * `count` rounds under the current rules, all at the ledger's current head (a head stays valid: the
 * ledger keeps its history): each member's ticket locked and both beacons issued by the ledger, as
 * in a live round, so what remains to time is the settlement.
 */
export function transcripts(ledger: SqliteLedger, members: DriverNode[], count: number, from: number) {
  const view = ledger.viewAt(ledger.head())!
  const live: DriverLedger = {
    rules: CURRENT_RULES,
    now: Date.now(),
    beacon: (phase, seal, query) => ledger.beacon(signBeaconRequest(DRIVER_COORDINATOR, query, phase, seal)),
    lock: (j, query) => void ledger.lockTicket({ query: query.env, join: j.env }),
  }
  return Array.from({ length: count }, (_, r) => driveRound(members, `question ${from + r}`, view, from + r, { terms: { fee: '1000000', ticket: '10000' }, live: { ...live, now: Date.now() } }).done.transcript.map((m) => m.env))
}

/**
 * Settles as `ledger serve` does: up to `depth` rounds' signatures being checked on the pool at
 * once, and those whose checks finish together written in one transaction (writeGatherer.ts).
 */
async function gathered(ledger: SqliteLedger, rounds: unknown[][], depth: number): Promise<void> {
  const writes = new WriteGatherer((s: readonly PendingSettlement[]) => ledger.settleAll(s), MAX_SETTLEMENTS_PER_WRITE)
  let next = 0
  const worker = async () => {
    while (next < rounds.length) await writes.submit({ transcript: await ledger.prepare(rounds[next++]!) })
  }
  await Promise.all(Array.from({ length: depth }, worker))
}

/**
 * The median time of one valid ed25519 signature check, in microseconds: the verifier's own
 * (libsodium, with its checks of ids and encodings) and OpenSSL's bare call (what the thread pool
 * runs), alternating in the same loop so the machine's drift affects both alike.
 */
function verifyMicros(node: DriverNode): [number, number] {
  const message = Buffer.from('x'.repeat(400))
  const sig = signBytes(node.identity, message)
  const verifier = new SignatureVerifier()
  const key = new PublicKeyCache().get(node.identity.id)
  const raw = Buffer.from(sig, 'hex')
  const ours: number[] = []
  const openssl: number[] = []
  for (let r = 0; r < 15; r++) {
    let t0 = performance.now()
    for (let i = 0; i < 200; i++) if (!verifier.verify(node.identity.id, message, sig)) throw new Error('a valid signature did not verify')
    ours.push(((performance.now() - t0) / 200) * 1000)
    t0 = performance.now()
    for (let i = 0; i < 200; i++) if (!verify(null, message, key, raw)) throw new Error('a valid signature did not verify')
    openssl.push(((performance.now() - t0) / 200) * 1000)
  }
  return [median(ours), median(openssl)]
}

/**
 * What a reader fetches per new head on a 1 000-node network after one seven-member round: the
 * change since the head it knew, against the whole standing it would fetch otherwise.
 */
async function standingBytes(): Promise<Figure[]> {
  const { dir, ledger, members } = await ledgerWith(1_000)
  try {
    const before = ledger.head()
    ledger.settle(transcripts(ledger, members.slice(0, 7), 1, 0)[0]!)
    return [
      { name: 'standing_change_bytes_1000', value: JSON.stringify(ledger.standingSince(before, ledger.head())).length, unit: 'bytes' },
      { name: 'standing_whole_bytes_1000', value: JSON.stringify(ledger.snapshotAt(ledger.head())).length, unit: 'bytes' },
    ]
  } finally {
    ledger.close()
    await rm(dir, { recursive: true, force: true })
  }
}

export async function run(): Promise<Figure[]> {
  return [...(await settlements()), ...(await standingBytes())]
}

async function settlements(): Promise<Figure[]> {
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
    const rounds7 = transcripts(small.ledger, small.members, 630, 0)
    for (const t of rounds7.slice(0, 30)) small.ledger.settle(t)
    let t0 = performance.now()
    for (const t of rounds7.slice(30, 330)) small.ledger.settle(t)
    const serialPerS = 300 / ((performance.now() - t0) / 1000)
    t0 = performance.now()
    await gathered(small.ledger, rounds7.slice(330), 8)
    const perS = 300 / ((performance.now() - t0) / 1000)
    t0 = performance.now()
    await Promise.all(rounds7.slice(330).map((t) => small.ledger.prepare(t)))
    const openPerS = 300 / ((performance.now() - t0) / 1000)
    small.ledger.close()
    const yardstick = verifyMicros(big.members[0]!)
    t0 = performance.now()
    const replayed = await verifyLedger(join(small.dir, 'ledger.sqlite'))
    const verifyPerS = replayed.settlements / ((performance.now() - t0) / 1000)
    return [
      { name: 'settle_verify_35_ms', value: median(times.slice(5)), unit: 'ms' },
      { name: 'ledger_settlements_per_s', value: perS, unit: 'rounds/s' },
      { name: 'ledger_settlements_serial_per_s', value: serialPerS, unit: 'rounds/s' },
      { name: 'ledger_open_rounds_per_s', value: openPerS, unit: 'rounds/s' },
      { name: 'ledger_verify_settlements_per_s', value: verifyPerS, unit: 'rounds/s' },
      { name: 'ed25519_verify_us', value: yardstick[0], unit: 'us' },
      { name: 'ed25519_verify_openssl_us', value: yardstick[1], unit: 'us' },
    ]
  } finally {
    big.ledger.close()
    if (small.ledger.isOpen) small.ledger.close()
    await rm(big.dir, { recursive: true, force: true })
    await rm(small.dir, { recursive: true, force: true })
  }
}
