import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '../src/cli/up.js'
import { InstantBackend } from '../src/models/instant.js'
import { type Figure, median } from './stats.js'

/**
 * The gateway over HTTP on loopback with 7 instant nodes: what HTTP adds to a round (request wall
 * time minus the round's own wall time, which the gateway reports as chorus.round_ms), and how many
 * rounds per second one gateway completes with requests arriving 16 at a time. Run without a
 * ledger, then as `chorus up` runs by default, on a workspace ledger (`_ledger`: every round
 * metered and settled in the same process, which shares the two cores).
 */
export const figures = ['gateway_http_overhead_ms', 'gateway_rounds_per_s', 'gateway_ttft_ms', 'gateway_ttft_after_round_ms', 'gateway_http_overhead_ledger_ms', 'gateway_rounds_per_s_ledger']

export async function run(): Promise<Figure[]> {
  const dir = await mkdtemp(join(tmpdir(), 'chorus-gateway-bench-'))
  try {
    return [...(await measure(undefined, '')), ...(await measure(dir, '_ledger'))]
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function measure(ledgerDir: string | undefined, suffix: string): Promise<Figure[]> {
  const gw = await startGateway(
    { host: '127.0.0.1', port: 0, nodes: 7, models: [], apiKeys: [], answerSeconds: 10, maxRounds: 4, ...(ledgerDir ? { ledgerDir } : {}) },
    Array.from({ length: 7 }, (_, i) => new InstantBackend(`bench-${i}`)),
  )
  const ask = async (i: number) => {
    const t0 = performance.now()
    const res = await fetch(`${gw.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content: `benchmark ${i}` }] }),
    })
    const body = (await res.json()) as { chorus?: { round_ms: number } }
    const wall = performance.now() - t0
    if (res.status !== 200 || body.chorus === undefined) throw new Error(`request failed: ${res.status}`)
    return wall - body.chorus.round_ms
  }
  try {
    for (let i = 0; i < 20; i++) await ask(i)
    const overhead: number[] = []
    for (let i = 0; i < 100; i++) overhead.push(await ask(i))
    const total = 300
    let next = 0
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < total) await ask(next++)
      }),
    )
    const seconds = (performance.now() - t0) / 1000
    const overheadName = suffix === '' ? 'gateway_http_overhead_ms' : `gateway_http_overhead${suffix}_ms`
    const figures: Figure[] = [
      { name: overheadName, value: median(overhead), unit: 'ms' },
      { name: `gateway_rounds_per_s${suffix}`, value: total / seconds, unit: 'rounds/s' },
    ]
    if (suffix !== '') return figures
    // Time to first token, streamed: the answer is known only when the round is decided, so the
    // first content chunk can come no sooner; what it adds past the round is the streaming's cost.
    const ttft: number[] = []
    const after: number[] = []
    for (let i = 0; i < 100; i++) {
      const t0 = performance.now()
      const res = await fetch(`${gw.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chorus-swarm', stream: true, messages: [{ role: 'user', content: `stream ${i}` }] }),
      })
      let first: number | undefined
      let text = ''
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        text += Buffer.from(chunk).toString('utf8')
        if (first === undefined && /"content":"[^"]/.test(text)) first = performance.now() - t0
      }
      const roundMs = Number(/"round_ms":([\d.]+)/.exec(text)?.[1])
      if (first === undefined || !Number.isFinite(roundMs)) throw new Error('a streamed round sent no answer')
      ttft.push(first)
      after.push(first - roundMs)
    }
    return [...figures, { name: 'gateway_ttft_ms', value: median(ttft), unit: 'ms' }, { name: 'gateway_ttft_after_round_ms', value: median(after), unit: 'ms' }]
  } finally {
    await gw.close()
  }
}
