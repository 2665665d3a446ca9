import { PassThrough } from 'node:stream'
import { describe, expect, it, vi } from 'vitest'
import { createLogger, logLevel } from '../../src/cli/logger.js'
import { startGateway } from '../../src/cli/up.js'
import { InstantBackend } from '../../src/models/instant.js'
import { cli } from './runCli.js'

const captured = () => {
  const stream = new PassThrough()
  let text = ''
  stream.on('data', (d) => (text += d))
  return { stream, text: () => text }
}

describe('structured logs', () => {
  it('writes one JSON object per line for collectors, readable lines on a terminal, and honours the level', async () => {
    const json = captured()
    const log = createLogger({ level: 'info', stream: json.stream, pretty: false, name: 'gateway' })
    log.info({ status: 200, ms: 4 }, 'request')
    log.debug({ hidden: true }, 'not at info')
    await new Promise((r) => setImmediate(r))
    const lines = json.text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ level: 30, name: 'gateway', msg: 'request', status: 200, ms: 4 })
    const tty = captured()
    createLogger({ level: 'info', stream: tty.stream, pretty: true }).warn({ peer: '12D3' }, 'peer left')
    await new Promise((r) => setImmediate(r))
    expect(tty.text()).toMatch(/^\d\d:\d\d:\d\d WARN {2}peer left {2}peer=12D3\n$/)
    expect(() => logLevel('loud')).toThrow(/--log-level must be one of trace, debug, info, warn, error, fatal, silent/)
  })

  it('the gateway logs a line per request with its status and time, and a line per round with its phases', async () => {
    let text = ''
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      text += String(chunk)
      return true
    })
    const gw = await startGateway({ host: '127.0.0.1', port: 0, nodes: 3, models: [], apiKeys: [], answerSeconds: 5, maxRounds: 2, logLevel: 'info' }, Array.from({ length: 3 }, (_, i) => new InstantBackend(`l${i}`)))
    try {
      const res = await fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content: 'log me' }] }) })
      expect(res.status).toBe(200)
      await res.json()
      expect((await fetch(`${gw.url}/nope`)).status).toBe(404)
      await new Promise((r) => setTimeout(r, 50))
    } finally {
      spy.mockRestore()
      await gw.close()
    }
    const lines = text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.find((l) => l.msg === 'round')).toMatchObject({ answers: 3, ranked: true, phases_ms: expect.objectContaining({ total: expect.any(Number) }) })
    expect(lines.filter((l) => l.msg === 'request').map((l) => [l.path, l.status])).toEqual([
      ['/v1/chat/completions', 200],
      ['/v1/nope', 404],
    ])
  })

  it('a bad --log-level is refused before anything starts', async () => {
    expect((await cli('up', '--log-level', 'loud')).out).toMatch(/--log-level must be one of/)
  })
})
