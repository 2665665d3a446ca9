import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { JsonHttp } from '../../src/ledger/jsonHttp.js'

describe('JsonHttp', () => {
  let server: Server | undefined
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())))

  async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
    server = createServer(handler)
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  it('sends and parses JSON on one kept-alive connection', async () => {
    let connections = 0
    const base = await serve((req, res) => {
      let body = ''
      req.on('data', (c) => (body += c))
      req.on('end', () => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, got: body ? JSON.parse(body) : null })))
    })
    server!.on('connection', () => connections++)
    const http = new JsonHttp(base)
    const signal = AbortSignal.timeout(5_000)
    expect(await http.request('POST', `${base}/x`, { a: [1, 'é'] }, signal)).toEqual({ status: 201, json: { method: 'POST', got: { a: [1, 'é'] } } })
    expect(await http.request('GET', `${base}/y`, undefined, signal)).toEqual({ status: 201, json: { method: 'GET', got: null } })
    expect(connections).toBe(1)
    http.close()
  })

  it('gives a reply that is not JSON as undefined, with its status', async () => {
    const base = await serve((_req, res) => res.writeHead(502).end('<html>bad gateway</html>'))
    const http = new JsonHttp(base)
    expect(await http.request('GET', `${base}/`, undefined, AbortSignal.timeout(5_000))).toEqual({ status: 502, json: undefined })
    http.close()
  })

  it('refuses a reply past its bound, and stops at the signal', async () => {
    const base = await serve((req, res) => {
      if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(`"${'x'.repeat(4096)}"`)
      }
      // /slow never answers.
    })
    const http = new JsonHttp(base, { maxReplyBytes: 1024 })
    await expect(http.request('GET', `${base}/big`, undefined, AbortSignal.timeout(5_000))).rejects.toThrow(/over 1024 bytes/)
    await expect(http.request('GET', `${base}/slow`, undefined, AbortSignal.timeout(100))).rejects.toThrow(/abort/i)
    http.close()
    server!.closeAllConnections()
  })
})
