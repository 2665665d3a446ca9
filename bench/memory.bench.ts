import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { startGateway } from '../src/cli/up.js'
import { InstantBackend } from '../src/models/instant.js'
import type { Figure } from './stats.js'

/**
 * Memory a gateway keeps per request, over real HTTP on loopback (`chorus up` with 7 instant nodes):
 * heap + external after full collections, sampled every 500 requests once the round store and every
 * bounded table are full (2 000 warm-up requests), and the least-squares slope over the next 2 000,
 * per 1 000 requests. A leak shows as a steady slope; bounded state shows as noise around zero.
 */
export const figures = ['gateway_heap_growth_kb_per_1k']

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function heldKb(): number {
  for (let i = 0; i < 3; i++) gc()
  const m = process.memoryUsage()
  return (m.heapUsed + m.external) / 1024
}

export async function run(): Promise<Figure[]> {
  const gw = await startGateway(
    { host: '127.0.0.1', port: 0, nodes: 7, models: [], apiKeys: [], answerSeconds: 10, maxRounds: 4 },
    Array.from({ length: 7 }, (_, i) => new InstantBackend(`mem-${i}`)),
  )
  let i = 0
  const ask = async () => {
    const res = await fetch(`${gw.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content: `memory ${i++}` }] }),
    })
    if (res.status !== 200) throw new Error(`request failed: ${res.status}`)
    await res.arrayBuffer()
  }
  try {
    for (let k = 0; k < 2000; k++) await ask()
    const xs: number[] = []
    const ys: number[] = []
    for (let block = 0; block <= 4; block++) {
      if (block > 0) for (let k = 0; k < 500; k++) await ask()
      xs.push(block * 500)
      ys.push(heldKb())
    }
    return [{ name: 'gateway_heap_growth_kb_per_1k', value: slope(xs, ys) * 1000, unit: 'KB' }]
  } finally {
    await gw.close()
  }
}

function slope(xs: number[], ys: number[]): number {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let k = 0; k < n; k++) {
    num += (xs[k]! - mx) * (ys[k]! - my)
    den += (xs[k]! - mx) ** 2
  }
  return num / den
}
