import { startGateway } from '../src/cli/up.js'
import { InstantBackend } from '../src/models/instant.js'
import { launchChromium } from './chromium.js'
import { type Figure, median } from './stats.js'

/**
 * The dashboard in headless Chromium against a gateway of 100 in-process nodes holding 1 000
 * rounds: first contentful paint of `/` (median of 5 fresh tabs), and how long after navigation the
 * rounds page shows its table of recent rounds and the network page its 100 nodes (each median of
 * 5). The rounds are real (signed transcripts, 7 members each), run on a 7-node gateway and moved
 * into the 100-node one's store: a round there takes every node as a member, so 1 000 of them
 * would take minutes. Loopback, no ledger; the gateways and the browser share the two cores.
 */
export const figures = ['dashboard_first_paint_ms', 'dashboard_rounds_table_ms', 'dashboard_network_table_ms']

const NODES = 100
const ROUNDS = 1000

const gateway = (nodes: number) =>
  startGateway({ host: '127.0.0.1', port: 0, nodes, models: [], apiKeys: [], answerSeconds: 10, maxRounds: 4 }, Array.from({ length: nodes }, (_, i) => new InstantBackend(`dash-${i}`)))

export async function run(): Promise<Figure[]> {
  const filler = await gateway(7)
  try {
    await fill(filler.url)
  } catch (err) {
    await filler.close()
    throw err
  }
  const gw = await gateway(NODES)
  for (const r of filler.gateway.store.recent(ROUNDS, Date.now()).reverse()) gw.gateway.store.add(r)
  await filler.close()
  const browser = await launchChromium()
  try {
    if (gw.gateway.store.size !== ROUNDS) throw new Error(`the store holds ${gw.gateway.store.size} rounds, not ${ROUNDS}`)
    const base = gw.url.replace(/\/v1$/, '')
    const paint: number[] = []
    const rounds: number[] = []
    const network: number[] = []
    for (let i = 0; i < 5; i++) {
      const page = await browser.context.newPage()
      await page.goto(`${base}/`)
      await page.waitForSelector('#question')
      paint.push(Number(await page.evaluate(`performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN`)))
      await page.close()
      rounds.push(await timeTo(browser, `${base}/#/rounds`, '#recent-rounds tbody tr'))
      network.push(await timeTo(browser, `${base}/#/network`, `#nodes tbody tr:nth-child(${NODES})`))
    }
    if (paint.some((x) => !Number.isFinite(x))) throw new Error('Chromium reported no first contentful paint')
    return [
      { name: 'dashboard_first_paint_ms', value: median(paint), unit: 'ms' },
      { name: 'dashboard_rounds_table_ms', value: median(rounds), unit: 'ms' },
      { name: 'dashboard_network_table_ms', value: median(network), unit: 'ms' },
    ]
  } finally {
    await browser.close()
    await gw.close()
  }
}

/** Runs ROUNDS rounds through a gateway, 4 at a time. */
async function fill(url: string): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < ROUNDS) {
        const i = next++
        const res = await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content: `dashboard question ${i}` }] }) })
        if (res.status !== 200) throw new Error(`round ${i} failed: ${res.status}`)
        await res.arrayBuffer()
      }
    }),
  )
}

/** Milliseconds from a fresh tab's navigation to `selector` being in the page (its own clock). */
async function timeTo(browser: Awaited<ReturnType<typeof launchChromium>>, url: string, selector: string): Promise<number> {
  const page = await browser.context.newPage()
  await page.goto(url)
  await page.waitForSelector(selector, { timeout: 30_000 })
  const ms = Number(await page.evaluate('performance.now()'))
  await page.close()
  return ms
}
