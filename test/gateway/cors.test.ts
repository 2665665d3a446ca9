import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningGateway, startGateway } from '../../src/cli/up.js'
import { parseCorsOrigins } from '../../src/gateway/cors.js'
import { InstantBackend } from '../../src/models/instant.js'

describe('CORS for browser front-ends', () => {
  let gw: RunningGateway
  beforeAll(async () => {
    const settings = { host: '127.0.0.1', port: 0, nodes: 3, models: [], apiKeys: ['sk-cors'], answerSeconds: 5, maxRounds: 2, corsOrigins: ['https://app.example'] }
    gw = await startGateway(settings, Array.from({ length: 3 }, (_, i) => new InstantBackend(`n${i}`)))
  })
  afterAll(() => gw.close())

  const preflight = (origin: string) =>
    fetch(`${gw.url}/chat/completions`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } })

  it('answers a listed origin’s preflight without a key, and no other origin’s', async () => {
    const ok = await preflight('https://app.example')
    expect(ok.status).toBe(204)
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(ok.headers.get('access-control-allow-methods')).toContain('POST')
    expect(ok.headers.get('access-control-allow-headers')).toContain('authorization')
    const other = await preflight('https://evil.example')
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
    expect(other.status).toBe(401)
  })

  it('marks plain and streamed answers for the listed origin, and still wants the key', async () => {
    const ask = (stream: boolean, key?: string) =>
      fetch(`${gw.url}/chat/completions`, {
        method: 'POST',
        headers: { origin: 'https://app.example', 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify({ model: 'chorus-swarm', stream, messages: [{ role: 'user', content: 'hi' }] }),
      })
    const plain = await ask(false, 'sk-cors')
    expect(plain.status).toBe(200)
    expect(plain.headers.get('access-control-allow-origin')).toBe('https://app.example')
    await plain.json()
    const streamed = await ask(true, 'sk-cors')
    expect(streamed.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(await streamed.text()).toContain('data: [DONE]')
    const keyless = await ask(false)
    expect(keyless.status).toBe(401)
    expect(keyless.headers.get('access-control-allow-origin')).toBe('https://app.example')
  })

  it('refuses what is not an origin, by name', () => {
    expect(parseCorsOrigins(['https://a.example', '*', 'http://localhost:5173/'])).toEqual(['https://a.example', '*', 'http://localhost:5173'])
    expect(() => parseCorsOrigins(['ftp://a.example'])).toThrow(/--cors ftp:\/\/a.example: not an origin/)
    expect(() => parseCorsOrigins(['https://a.example/app'])).toThrow(/no path/)
    expect(() => parseCorsOrigins(['a.example'])).toThrow(/not an origin/)
  })
})
