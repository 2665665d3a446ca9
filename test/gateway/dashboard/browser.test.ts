import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromiumMissing, launchChromium } from '../../../bench/chromium.js'
import { type RunningGateway, startGateway } from '../../../src/cli/up.js'
import { InstantBackend } from '../../../src/models/instant.js'
import { SCORE_SCALE } from '../../../src/protocol/limits.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any

/**
 * The dashboard in a real browser (Debian's Chromium, headless), against a running `chorus up`:
 * the key prompt, a question asked in the chat page with its phases appearing, the round's page
 * showing what /v1/rounds/:id signs, "verify", every other page, screenshots at desktop and phone
 * width (CHORUS_SCREENSHOTS=DIR keeps them, as the README's were made), and no CSP violation or
 * script error on the way. Then hostile answers and a hostile report: shown as text, never run.
 */
const missing = chromiumMissing()
if (missing !== undefined && process.env.CI !== undefined) throw new Error(`the dashboard's browser tests need Chromium: ${missing}`)
const shots = resolve(process.env.CHORUS_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'chorus-shots-')))
mkdirSync(shots, { recursive: true })

/**
 * Console errors and page errors (a CSP violation is a console error). A 401 the page answers by
 * asking for the key is the browser logging the response, not a fault.
 */
function watchErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) errors.push(m.text())
  })
  page.on('pageerror', (e) => errors.push(e.message))
  return errors
}

describe.skipIf(missing !== undefined)('the dashboard of a running chorus up, in Chromium', () => {
  let proc: ChildProcess
  let base: string
  let browser: Awaited<ReturnType<typeof launchChromium>>
  const KEY = 'sk-dashboard-test'
  const dir = mkdtempSync(join(tmpdir(), 'chorus-dashboard-up-'))

  beforeAll(async () => {
    const reports = join(dir, 'reports')
    mkdirSync(reports)
    writeFileSync(join(reports, 'gsm.md'), '### gsm: swarm vs majority\n\n| method | q = 0.6 |\n|---|---|\n| swarm | 86.1 [84.0, 88.0] |\n| majority | 85.7 [83.6, 87.7] |\n')
    proc = spawn(process.execPath, [resolve('dist/src/cli/main.js'), 'up', '--port', '0', '--nodes', '5', '--model', 'test:instant', '--api-key', KEY, '--reports', reports, '--calibration', 'off'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    let seen = ''
    base = await new Promise<string>((ok, fail) => {
      const onData = (d: Buffer) => {
        seen += d.toString()
        const m = /dashboard (\S+)\//.exec(seen)
        if (m) ok(m[1]!)
      }
      proc.stdout!.on('data', onData)
      proc.stderr!.on('data', onData)
      proc.once('exit', (code) => fail(new Error(`chorus up exited (${code}):\n${seen}`)))
    })
    browser = await launchChromium()
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    proc?.kill('SIGTERM')
    if (proc && proc.exitCode === null) await once(proc, 'exit')
  })

  it('asks for the key, runs a round from the chat page with its phases live, and shows the round as signed', async () => {
    const page = await browser.context.newPage()
    const errors = watchErrors(page)
    await page.goto(`${base}/`)
    await page.fill('#question', 'What is 6 × 7?')
    await page.click('#ask')
    // The gateway wants a key: the page asks for it and keeps it for the tab only.
    await page.fill('#api-key', KEY)
    await page.keyboard.press('Enter')
    await page.waitForSelector('[data-testid=root]', { timeout: 30_000 })
    const phases = await page.locator('[data-testid=phases] li').evaluateAll((els) => els.map((e) => e.getAttribute('data-phase')))
    expect(phases).toEqual(expect.arrayContaining(['queued', 'joining', 'committing', 'revealing', 'verdictCommitting', 'done']))
    expect(phases.indexOf('committing')).toBeLessThan(phases.indexOf('verdictCommitting'))
    expect(await page.evaluate(`sessionStorage.getItem('chorus.apiKey')`)).toBe(KEY)
    await page.screenshot({ path: join(shots, 'chat-desktop.png'), fullPage: true })

    await page.click('[data-testid=round-link]')
    await page.waitForSelector('main h1 >> text=Round')
    const round = /#\/rounds\/([0-9a-f]{64})$/.exec(page.url())![1]!
    const shown = {
      winner: await page.getAttribute('[data-testid=winner]', 'data-value'),
      root: await page.getAttribute('[data-testid=root]', 'data-value'),
      scores: await page.locator('[data-testid=score]').evaluateAll((els) => els.map((e) => [e.getAttribute('data-node'), Number(e.getAttribute('data-value'))])),
    }
    const transcript: Json = await (await fetch(`${base}/v1/rounds/${round}`, { headers: { authorization: `Bearer ${KEY}` } })).json()
    const result = transcript.envelopes.at(-1).body
    expect(shown.winner).toBe(result.winner)
    expect(shown.root).toBe(result.root)
    expect(shown.scores).toEqual(result.scores.map((s: Json) => [s.node, s.score / SCORE_SCALE]))

    await page.click('[data-testid=verify]')
    await page.locator('[data-testid=verify-result]', { hasText: 'VALID' }).waitFor({ timeout: 10_000 })
    expect(await page.textContent('[data-testid=verify-result]')).toMatch(/^VALID: recomputed root and winner match/)
    await page.screenshot({ path: join(shots, 'round-desktop.png'), fullPage: true })
    await page.setViewportSize({ width: 390, height: 844 })
    await page.screenshot({ path: join(shots, 'round-phone.png'), fullPage: true })
    // At phone width nothing runs off the side of the page.
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)
    await page.setViewportSize({ width: 1280, height: 900 })
    expect(errors).toEqual([])
  })

  it('shows the network, the rounds, the economics and the reports, sortable from the keyboard', async () => {
    const page = await browser.context.newPage()
    const errors = watchErrors(page)
    await page.goto(`${base}/#/network`)
    // A new tab has no key yet (sessionStorage is per tab): the data pages ask for it too.
    await page.fill('#api-key', KEY)
    await page.keyboard.press('Enter')
    await page.waitForSelector('#nodes tbody tr')
    expect(await page.locator('#nodes tbody tr').count()).toBe(5)
    expect(await page.textContent('[data-testid=nodes-online]')).toBe('5')
    // Sorting by a header from the keyboard: Tab to it, Enter.
    const header = page.locator('#nodes th button', { hasText: 'rounds' })
    await header.focus()
    await page.keyboard.press('Enter')
    expect(await page.locator('#nodes th[aria-sort]').textContent()).toBe('rounds')
    await page.screenshot({ path: join(shots, 'network-desktop.png'), fullPage: true })

    await page.goto(`${base}/#/rounds`)
    await page.waitForSelector('#recent-rounds tbody tr')
    expect(await page.locator('#recent-rounds tbody tr').count()).toBeGreaterThanOrEqual(1)
    await page.goto(`${base}/#/economics`)
    await page.waitForSelector('[data-testid=ledger-head]')
    expect(await page.textContent('[data-testid=ledger-head]')).toMatch(/^[0-9a-f]{64}$/)
    await page.screenshot({ path: join(shots, 'economics-desktop.png'), fullPage: true })
    await page.goto(`${base}/#/quality`)
    await page.waitForSelector('article.report table')
    expect(await page.locator('article.report td').allTextContents()).toContain('86.1 [84.0, 88.0]')
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(`${base}/#/network`)
    await page.waitForSelector('#nodes tbody tr')
    await page.screenshot({ path: join(shots, 'network-phone.png'), fullPage: true })
    expect(errors).toEqual([])
  })
})

describe.skipIf(missing !== undefined)('hostile answers and reports, in Chromium', () => {
  const hostile = [
    '<img src=x onerror="window.__pwned=1">',
    '<script>window.__pwned=1</script>',
    '</span></p><svg onload="window.__pwned=1"></svg>',
    'Trust me \u202Eevil\u202C I am right',
  ]
  class Hostile extends InstantBackend {
    constructor(private readonly text: string, i: number) {
      super(`hostile-${i}`)
    }
    override async answer(): Promise<string> {
      return this.text
    }
  }
  let gw: RunningGateway
  let browser: Awaited<ReturnType<typeof launchChromium>>
  const reports = mkdtempSync(join(tmpdir(), 'chorus-hostile-reports-'))

  beforeAll(async () => {
    writeFileSync(join(reports, 'evil.md'), '# <img src=x onerror="window.__pwned=1">\n\n[click](javascript:window.__pwned=1)\n')
    writeFileSync(join(reports, 'evil.svg'), '<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=1"><script>window.__pwned=1</script><a href="javascript:window.__pwned=1"><rect width="5" height="5"/></a><foreignObject><img src="x" onerror="window.__pwned=1"/></foreignObject><circle r="3" cx="4" cy="4" style="fill:red"/></svg>')
    gw = await startGateway({ host: '127.0.0.1', port: 0, nodes: 4, models: [], apiKeys: [], answerSeconds: 5, maxRounds: 4, reportsDir: reports }, hostile.map((t, i) => new Hostile(t, i)))
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await gw?.close()
  })

  it('renders every answer as text and runs none of it', async () => {
    // A private round: the page reads its question from the Prompt the members were sent, and says so.
    const res: Json = await (await fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content: '<b>hi</b>' }], chorus: { private: true } }) })).json()
    const base = gw.url.replace(/\/v1$/, '')
    const page = await browser.context.newPage()
    const errors = watchErrors(page)
    await page.goto(`${base}/#/rounds/${res.chorus.round}`)
    await page.waitForSelector('[data-testid=root]')
    const text = await page.textContent('main')
    for (const h of hostile) expect(text).toContain(h)
    expect(text).toContain('private: only the prompt’s hash was broadcast')
    expect(text).toContain('<b>hi</b>')
    expect(await page.evaluate('window.__pwned')).toBeUndefined()
    expect(await page.locator('main img, main script, main [onerror], main [onload]').count()).toBe(0)
    // The reports page: the Markdown is text, the SVG keeps only its drawing.
    await page.goto(`${base}/#/quality`)
    await page.waitForSelector('figure.chart svg')
    expect(await page.locator('main script, main foreignObject, main a[href^="javascript"], main [onload], main [style]').count()).toBe(0)
    expect(await page.locator('figure.chart svg circle').count()).toBe(1)
    expect(await page.textContent('article.report h2')).toBe('<img src=x onerror="window.__pwned=1">')
    expect(await page.evaluate('window.__pwned')).toBeUndefined()
    // The one error allowed: the CSP refusing the hostile chart's inline style as the page parsed it.
    for (const e of errors) expect(e).toMatch(/^Applying inline style violates the following Content Security Policy/)
    expect(readFileSync(join(reports, 'evil.svg'), 'utf8')).toContain('<script>')
  })
})
