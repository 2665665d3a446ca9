import type { Identity } from '../src/crypto/identity.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createEmbeddedSwarm } from '../src/cli/embeddedSwarm.js'
import { swarmLedger } from '../src/cli/workspaceLedger.js'
import { InstantBackend } from '../src/models/instant.js'
import { createCryptoMeter } from '../src/protocol/envelope.js'
import type { Verification } from '../src/runtime/intake.js'
import { type Figure, median, quantile } from './stats.js'
import { workspaceRules } from '../src/cli/calibrationGate.js'

/**
 * Whole rounds in one process with instant backends: every recipient verifies every message it
 * receives. Each size runs twice: as the runtimes run ('auto': a lone message checked at once with
 * libsodium, a backlog handed to the thread pool and its two cores), and with verification inline
 * on the event loop, where the time inside sign and verify can be measured exactly and the share
 * of wall time outside them reported.
 */
export async function run(): Promise<Figure[]> {
  const out: Figure[] = []
  // Warm-up rounds are not measured: V8 takes about 60 small rounds to optimize the round code
  // (measured: the median of rounds 0–20 is 18 ms, of rounds 60–200 13 ms), and steady state is
  // what a running node sees.
  for (const [n, rounds, warmup] of [
    [7, 100, 60],
    [100, 15, 5],
  ] as const) {
    out.push(...(await measure(n, rounds, warmup, 'auto')), ...(await measure(n, rounds, warmup, 'inline')))
  }
  out.push(...(await withLedger(7, 100, 60)))
  return out
}

/**
 * The same 7-node rounds on a workspace ledger (a file, full sync): the Query names the newest
 * standing, nodes check the gateway's deposit, each member locks its ticket on the ledger before it
 * joins, the ledger names the joiners and issues the round's two beacons (rules 3: member selection
 * and the judge assignment), and each round settles after its answer is out.
 * `_ledger_` is the round as the client waits for it; `_settled_` includes its settlement.
 * `beacon_added_ms` is what the beacons and locks add: the same swarm without them (rules 1), alternating
 * round by round with it, median against median.
 */
async function withLedger(n: number, rounds: number, warmup: number): Promise<Figure[]> {
  const dir = await mkdtemp(join(tmpdir(), 'chorus-round-bench-'))
  // Rules 1 rounds are the baseline here, so this ledger still settles them; its instant test
  // backends judge meaninglessly, so no calibration gate (with it, rounds would go unranked).
  const ledger = await swarmLedger(dir, n, { rules: { oldestRules: 1, ...workspaceRules(false) } })
  const on = { nodes: n, backendFor: (id: Identity) => new InstantBackend(id.id), ledger: ledger.network, paymaster: ledger.paymaster, identities: ledger.identities }
  const beacons = createEmbeddedSwarm({ ...on, client: ledger.client })
  const plain = createEmbeddedSwarm(on)
  const answered: number[] = []
  const settled: number[] = []
  const unbeaconed: number[] = []
  try {
    for (let r = 0; r < 2 * (rounds + warmup); r++) {
      const swarm = r % 2 === 0 ? beacons : plain
      const t0 = performance.now()
      const res = await swarm.ask(`benchmark question ${r}`)
      const t1 = performance.now()
      if ((await res.settlement) === undefined) throw new Error('the round did not settle')
      if (r < 2 * warmup) continue
      if (swarm === plain) {
        unbeaconed.push(t1 - t0)
        continue
      }
      answered.push(t1 - t0)
      settled.push(performance.now() - t0)
    }
  } finally {
    await beacons.stop()
    await plain.stop()
    ledger.close()
    await rm(dir, { recursive: true, force: true })
  }
  return [
    { name: `round_inproc_${n}_ledger_p50_ms`, value: median(answered), unit: 'ms' },
    { name: `round_inproc_${n}_settled_p50_ms`, value: median(settled), unit: 'ms' },
    { name: 'beacon_added_ms', value: median(answered) - median(unbeaconed), unit: 'ms' },
  ]
}

async function measure(n: number, rounds: number, warmup: number, verification: Verification): Promise<Figure[]> {
  const meter = createCryptoMeter()
  const swarm = createEmbeddedSwarm({
    nodes: n,
    backendFor: (id) => new InstantBackend(id.id),
    keySeed: `bench-${n}`,
    meter,
    verification,
  })
  const wall: number[] = []
  const crypto: number[] = []
  const outside: number[] = []
  let ops = 0
  for (let r = 0; r < rounds + warmup; r++) {
    meter.signMs = meter.verifyMs = meter.signs = meter.verifies = 0
    const t0 = performance.now()
    const res = await swarm.ask(`benchmark question ${r}`)
    const ms = performance.now() - t0
    if (!res.outcome.ranked) throw new Error('round was not ranked')
    if (r < warmup) continue
    const c = meter.signMs + meter.verifyMs
    ops = meter.signs + meter.verifies
    wall.push(ms)
    crypto.push(c)
    outside.push((ms - c) / ms)
  }
  await swarm.stop()
  if (verification === 'auto') {
    return [
      { name: `round_inproc_${n}_p50_ms`, value: median(wall), unit: 'ms' },
      { name: `round_inproc_${n}_p99_ms`, value: quantile(wall, 0.99), unit: 'ms' },
      { name: `round_inproc_${n}_sign_verify_ops`, value: ops, unit: 'ops' },
    ]
  }
  return [
    { name: `round_inproc_${n}_inline_p50_ms`, value: median(wall), unit: 'ms' },
    { name: `round_inproc_${n}_crypto_ms`, value: median(crypto), unit: 'ms' },
    { name: `round_inproc_${n}_outside_crypto_pct`, value: 100 * median(outside), unit: '%' },
  ]
}

export const figures = ['round_inproc_7_p50_ms', 'round_inproc_7_crypto_ms', 'round_inproc_100_p50_ms', 'round_inproc_100_crypto_ms', 'round_inproc_7_ledger_p50_ms', 'round_inproc_7_settled_p50_ms', 'beacon_added_ms']
