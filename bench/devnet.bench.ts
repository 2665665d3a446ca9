import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Devnet } from '../src/cli/devnet.js'
import { type Figure, median, quantile } from './stats.js'

/**
 * Rounds over libp2p on loopback between separate processes: a gateway process and N node
 * processes (instant test backends), driven through the HTTP API. The figure is the round's own
 * wall time as the gateway measures it (`chorus.round_ms`), so HTTP is not in it.
 *
 * The headline figures are steady state, after warm-up rounds, as a long-running node sees it. A
 * node process runs one participant per round, so V8 needs a few hundred rounds to optimize it
 * (measured with 7 nodes, medians of 50-round blocks: 47, 39, 33, 34, 31, 27, 28, 27, 27, 27 ms,
 * while each node's CPU per round fell from 9 to 4.4 ms). The first rounds after start are printed
 * too, as `_cold_`. `round_libp2p_7_ledger_p50_ms` is the same 7-node devnet on a served ledger
 * (a temporary folder): each round reads the standing, takes its two beacons from the ledger over
 * HTTP (rules 2) and settles after its answer.
 */
export const figures = ['round_libp2p_7_p50_ms', 'round_libp2p_7_p99_ms', 'round_libp2p_7_cold_p50_ms', 'round_libp2p_25_p50_ms', 'round_libp2p_7_ledger_p50_ms']

async function measure(nodes: number, warmup: number, rounds: number, ledgerDir?: string): Promise<{ cold: number[]; warm: number[] }> {
  const net = new Devnet({ nodes, model: 'test:instant', answerSeconds: 10, ...(ledgerDir ? { ledgerDir } : {}) })
  await net.start()
  try {
    const cold: number[] = []
    const warm: number[] = []
    for (let r = 0; r < warmup + rounds; r++) {
      const res = await fetch(`${net.apiUrl}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content: `bench ${r}` }] }),
      })
      const body = (await res.json()) as { chorus?: { round_ms: number; answers: number } }
      if (res.status !== 200 || body.chorus?.answers !== nodes) throw new Error(`round ${r}: ${res.status} ${JSON.stringify(body).slice(0, 200)}`)
      // Rounds 5–54 are the cold figure (the first five include connection set-up).
      if (r >= 5 && r < 55) cold.push(body.chorus.round_ms)
      if (r >= warmup) warm.push(body.chorus.round_ms)
    }
    return { cold, warm }
  } finally {
    await net.stop()
  }
}

export async function run(): Promise<Figure[]> {
  const n7 = await measure(7, 400, 100)
  const n25 = await measure(25, 100, 30)
  const dir = await mkdtemp(join(tmpdir(), 'chorus-devnet-bench-'))
  const ledger = await measure(7, 200, 100, dir).finally(() => rm(dir, { recursive: true, force: true }))
  return [
    { name: 'round_libp2p_7_p50_ms', value: median(n7.warm), unit: 'ms' },
    { name: 'round_libp2p_7_p99_ms', value: quantile(n7.warm, 0.99), unit: 'ms' },
    { name: 'round_libp2p_7_cold_p50_ms', value: median(n7.cold), unit: 'ms' },
    { name: 'round_libp2p_25_p50_ms', value: median(n25.warm), unit: 'ms' },
    { name: 'round_libp2p_7_ledger_p50_ms', value: median(ledger.warm), unit: 'ms' },
  ]
}
