import { createHash } from 'node:crypto'
import { readFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pullModel, sourceUrl } from '../../src/models/modelPull.js'
import { tinyGguf } from '../../src/models/tinyGguf.js'
import { cli } from '../cli/runCli.js'

describe('pulling a model', () => {
  const model = tinyGguf({ seed: 'pull' })
  const sha = createHash('sha256').update(model).digest('hex')
  let server: Server
  let base: string
  let dir: string
  /** The first request for /flaky.gguf is cut off halfway. */
  let cutOnce = true
  const ranges: (string | undefined)[] = []
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chorus-pull-'))
    server = createServer((req, res) => {
      const body = req.url === '/notgguf.gguf' ? Buffer.from('not a model at all') : model
      if (req.url === '/silent.gguf') return // never answers
      ranges.push(req.headers.range)
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
      const from = m ? Number(m[1]) : 0
      const headers = { 'content-length': String(body.length - from), ...(req.url === '/model.gguf' ? { 'x-linked-etag': `"${sha}"` } : {}) }
      res.writeHead(m ? 206 : 200, headers)
      if (req.url === '/flaky.gguf' && cutOnce) {
        cutOnce = false
        res.write(body.subarray(from, from + Math.floor(body.length / 2)))
        setTimeout(() => res.destroy(), 50)
        return
      }
      res.end(body.subarray(from))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
    await rm(dir, { recursive: true, force: true })
  })

  it('downloads, checks the SHA-256 the server names and the GGUF magic, and keeps only a whole file', async () => {
    const p = await pullModel(`${base}/model.gguf`, { dir })
    expect(p).toMatchObject({ path: join(dir, 'model.gguf'), bytes: model.length, sha256: sha, resumedFrom: 0 })
    expect((await readFile(p.path)).equals(model)).toBe(true)
    await expect(stat(`${p.path}.part`)).rejects.toThrow()
  })

  it('resumes an interrupted pull with a Range request', async () => {
    await expect(pullModel(`${base}/flaky.gguf`, { dir })).rejects.toThrow(/run the same pull to resume/)
    const half = (await stat(join(dir, 'flaky.gguf.part'))).size
    expect(half).toBeGreaterThan(0)
    const p = await pullModel(`${base}/flaky.gguf`, { dir, sha256: sha })
    expect(p.resumedFrom).toBe(half)
    expect(ranges.at(-1)).toBe(`bytes=${half}-`)
    expect((await readFile(p.path)).equals(model)).toBe(true)
  })

  it('refuses a file whose checksum or format is wrong, and removes it', async () => {
    await expect(pullModel(`${base}/model.gguf`, { dir: join(dir, 'x'), sha256: '0'.repeat(64) })).rejects.toThrow(/its SHA-256 is [0-9a-f]{64}, not 0{64}; the download was removed/)
    await expect(stat(join(dir, 'x', 'model.gguf.part'))).rejects.toThrow()
    await expect(pullModel(`${base}/notgguf.gguf`, { dir })).rejects.toThrow(/not a GGUF file/)
  })

  it('fails fast and says why when there is no answer, offline or silent', async () => {
    const t0 = Date.now()
    await expect(pullModel('http://nonexistent.invalid/m.gguf', { dir })).rejects.toThrow(/cannot download .*nonexistent\.invalid/)
    await expect(pullModel(`${base}/silent.gguf`, { dir, connectMs: 300 })).rejects.toThrow(/no answer within 0.3 s/)
    expect(Date.now() - t0).toBeLessThan(10_000)
    expect(sourceUrl('hf:Qwen/Qwen3-1.7B-GGUF/Qwen3-1.7B-Q8_0.gguf')).toBe('https://huggingface.co/Qwen/Qwen3-1.7B-GGUF/resolve/main/Qwen3-1.7B-Q8_0.gguf')
    expect(() => sourceUrl('hf:nope')).toThrow(/hf:<owner>\/<repo>\/<file>.gguf/)
    expect(() => sourceUrl('ftp://x/y.gguf')).toThrow(/only http/)
  })

  it('chorus models pull and list', async () => {
    const d = join(dir, 'cli')
    const pulled = await cli('models', 'pull', `${base}/model.gguf`, '--dir', d)
    expect(pulled.code).toBe(0)
    expect(pulled.out).toContain(`sha256 ${sha}`)
    await writeFile(join(d, 'notes.txt'), 'not listed')
    const listed = await cli('models', 'list', '--dir', d)
    expect(listed.out).toMatch(/^model\.gguf {2}\d+\.\d MiB\n$/)
    expect((await cli('models', 'pull', `${base}/model.gguf`, '--dir', d, '--sha256', 'xyz')).out).toMatch(/--sha256 takes 64 hex characters/)
  })
})
