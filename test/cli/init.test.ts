import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { initCommand } from '../../src/cli/initCommand.js'
import { readJsonConfig, withoutComments } from '../../src/cli/jsonConfig.js'
import { NODE_CONFIG_SETTINGS } from '../../src/cli/nodeCommand.js'
import { cli } from './runCli.js'

describe('chorus init', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chorus-init-'))
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it('writes a 0600 key and a commented chorus.json that chorus node reads, and never overwrites either', async () => {
    let out = ''
    expect(await initCommand(['--dir', dir], (s) => (out += s))).toBe(0)
    const id = /node id ([0-9a-f]{64})/.exec(out)![1]
    expect((await stat(join(dir, 'node.key'))).mode & 0o777).toBe(0o600)
    const text = await readFile(join(dir, 'chorus.json'), 'utf8')
    expect(text).toContain('// The model that answers and judges')
    const config = await readJsonConfig(join(dir, 'chorus.json'), NODE_CONFIG_SETTINGS)
    expect(config).toMatchObject({ key: 'node.key', capacity: 16, mdns: true })
    // A second run keeps the key (same id) and leaves an edited config alone.
    const key = await readFile(join(dir, 'node.key'), 'utf8')
    await writeFile(join(dir, 'chorus.json'), '{"model": "ollama:mine"}\n')
    out = ''
    await initCommand(['--dir', dir], (s) => (out += s))
    expect(out).toContain(`node.key exists: kept it (node id ${id})`)
    expect(await readFile(join(dir, 'node.key'), 'utf8')).toBe(key)
    expect(await readFile(join(dir, 'chorus.json'), 'utf8')).toBe('{"model": "ollama:mine"}\n')
  })

  it('help lists every eval task and model spec', async () => {
    const { out } = await cli('help')
    for (const want of ['gsm, math-l5, zeroeval:<name>, replay --file F.jsonl', 'prd (recorded peer reviews), live', 'ollama:<model>', 'openai:<base url>#<model>', './path/model.gguf', 'chorus chat', 'chorus models pull', 'chorus init']) expect(out).toContain(want)
  })

  it('strips comments but not what strings hold', () => {
    expect(JSON.parse(withoutComments('{\n  // a comment\n  "url": "http://x//y", // trailing\n  "q": "a \\" // b"\n}'))).toEqual({ url: 'http://x//y', q: 'a " // b' })
  })
})

describe('listen problems, in words', () => {
  it('names a port in use, a privileged port and an address not on this machine', async () => {
    const { listenProblem } = await import('../../src/cli/settings.js')
    expect(listenProblem('EADDRINUSE', '127.0.0.1', 8420, '')).toBe('port 8420 on 127.0.0.1 is in use (try --port 0)')
    expect(listenProblem('EACCES', '127.0.0.1', 9, '')).toMatch(/port 9 on 127.0.0.1 needs privileges this user lacks \(ports below 1024 do/)
    expect(listenProblem('EADDRNOTAVAIL', '10.9.9.9', 8420, '')).toMatch(/10.9.9.9 is not an address of this machine/)
    expect((await cli('up', '--host', '10.9.9.9', '--port', '0', '--nodes', '3')).out).toMatch(/10\.9\.9\.9 is not an address of this machine/)
  })
})
