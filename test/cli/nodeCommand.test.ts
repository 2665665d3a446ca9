import { spawn } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cli } from './runCli.js'
import { describe, expect, it } from 'vitest'


describe('chorus keygen and chorus node: clear errors', () => {
  it('keygen writes a key once and refuses to overwrite it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-key-'))
    const k = join(dir, 'n.key')
    const first = await cli('keygen', k)
    expect(first.code).toBe(0)
    expect(first.out.trim()).toMatch(/^[0-9a-f]{64}$/)
    expect((await cli('keygen', k)).out).toMatch(/refusing to overwrite/)
  })

  it('refuses a missing key, a bad key file, a bad config and a listen address in use', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-node-'))
    expect((await cli('node', '--key', join(dir, 'none.key'))).out).toMatch(/no key file at .*chorus keygen/)
    await writeFile(join(dir, 'bad.key'), 'hello')
    expect((await cli('node', '--key', join(dir, 'bad.key'))).out).toMatch(/is not a chorus\/key\/v1 key file/)
    await writeFile(join(dir, 'c.json'), '{"key": "x", "colour": "blue"}')
    expect((await cli('node', '--config', join(dir, 'c.json'))).out).toMatch(/unknown setting 'colour'/)
    await writeFile(join(dir, 'c2.json'), '{not json')
    expect((await cli('node', '--config', join(dir, 'c2.json'))).out).toMatch(/is not JSON/)
    await writeFile(join(dir, 'c3.json'), '{"key": "x", "bootstrap": "/ip4/1.2.3.4/tcp/1"}')
    expect((await cli('node', '--config', join(dir, 'c3.json'))).out).toMatch(/'bootstrap' must be a list of strings/)
    await writeFile(join(dir, 'c4.json'), '{"key": "x", "capacity": "2"}')
    expect((await cli('node', '--config', join(dir, 'c4.json'))).out).toMatch(/'capacity' must be a number/)
    const key = join(dir, 'ok.key')
    await cli('keygen', key)
    expect((await cli('node', '--key', key, '--model', 'test:instant', '--prefilter', 'maybe')).out).toMatch(/--prefilter takes on or off, not maybe/)
    // Behind a NAT with no relay among its bootstrap peers, a circuit-only listener says what is missing.
    const lonely = await cli('node', '--key', key, '--model', 'test:instant', '--listen', '/p2p-circuit')
    expect(lonely.code).toBe(2)
    expect(lonely.out).toMatch(/needs a relay among the bootstrap peers/)
    const busy = createServer().listen(0, '127.0.0.1')
    await new Promise((r) => busy.once('listening', r))
    const port = (busy.address() as { port: number }).port
    try {
      const r = await cli('node', '--key', key, '--model', 'test:instant', '--listen', `/ip4/127.0.0.1/tcp/${port}`)
      expect(r.code).toBe(2)
      expect(r.out).toMatch(/in use|cannot start the network/)
    } finally {
      busy.close()
    }
  }, 30_000)

  it('says so when its model server is unreachable, and stays up', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-node-'))
    const key = join(dir, 'n.key')
    await cli('keygen', key)
    const p = spawn('node', ['dist/src/cli/main.js', 'node', '--key', key, '--model', 'openai:http://127.0.0.1:9/v1#m'])
    let out = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (out += d))
    try {
      const end = Date.now() + 15_000
      while (!/listening on/.test(out) && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
      expect(out).toMatch(/is unreachable .*staying out of rounds until it recovers/)
      expect(out).toMatch(/listening on \/ip4\/127\.0\.0\.1\/tcp\/\d+/)
      expect(p.exitCode).toBeNull()
    } finally {
      p.kill('SIGTERM')
      await new Promise((r) => p.on('close', r))
    }
  }, 30_000)

  it('serves its metrics on --metrics-port, checks its limits, and stops cleanly on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-node-'))
    const key = join(dir, 'n.key')
    await cli('keygen', key)
    expect((await cli('node', '--key', key, '--gateways', 'not-an-id')).out).toMatch(/--gateways: 'not-an-id' is not a gateway id/)
    expect((await cli('node', '--key', key, '--capacity', '4', '--per-gateway', '5')).out).toMatch(/--per-gateway is out of range: 5/)
    expect((await cli('node', '--key', key, '--horizon-seconds', '1')).out).toMatch(/--horizon-seconds is out of range/)
    const p = spawn('node', ['dist/src/cli/main.js', 'node', '--key', key, '--model', 'test:instant', '--metrics-port', '0', '--capacity', '6'])
    let out = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (out += d))
    try {
      const end = Date.now() + 15_000
      while (!/metrics (http:\S+)/.test(out) && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
      const url = /metrics (http:\S+)/.exec(out)![1]!
      const text = await fetch(url).then((r) => r.text())
      expect(text).toMatch(/chorus_node_capacity 6/)
      expect(text).toMatch(/chorus_node_active_rounds 0/)
      expect(text).toContain('chorus_handler_errors_total 0')
      expect((await fetch(url.replace('/metrics', '/healthz'))).status).toBe(200)
    } finally {
      p.kill('SIGTERM')
    }
    const code = await new Promise((r) => p.on('close', r))
    expect(code).toBe(0)
  }, 30_000)
})
