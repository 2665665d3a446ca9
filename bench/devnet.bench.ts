import { Devnet } from '../src/cli/devnet.js'
import { type Figure, median, quantile } from './stats.js'

/**
 * Rounds over libp2p on loopback between separate processes: a gateway process and N node
 * processes (instant test backends), driven through the HTTP API. The figure is the round's own
 * wall time as the gateway measures it (`chorus.round_ms`), so HTTP is not in it.
 */
export const figures = ['round_libp2p_7_p50_ms', 'round_libp2p_7_p99_ms', 'round_libp2p_25_p50_ms']

async function measure(nodes: number, rounds: number): Promise<number[]> {
  const net = new Devnet({ nodes, model: 'test:instant', answerSeconds: 10 })
  await net.start()
  try {
    const times: number[] = []
    for (let r = 0; r < rounds + 5; r++) {
      const res = await fetch(`${net.apiUrl}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content: `bench ${r}` }] }),
      })
      const body = (await res.json()) as { chorus?: { round_ms: number; answers: number } }
      if (res.status !== 200 || body.chorus?.answers !== nodes) throw new Error(`round ${r}: ${res.status} ${JSON.stringify(body).slice(0, 200)}`)
      if (r >= 5) times.push(body.chorus.round_ms)
    }
    return times
  } finally {
    await net.stop()
  }
}

export async function run(): Promise<Figure[]> {
  const t7 = await measure(7, 60)
  const t25 = await measure(25, 20)
  return [
    { name: 'round_libp2p_7_p50_ms', value: median(t7), unit: 'ms' },
    { name: 'round_libp2p_7_p99_ms', value: quantile(t7, 0.99), unit: 'ms' },
    { name: 'round_libp2p_25_p50_ms', value: median(t25), unit: 'ms' },
  ]
}
