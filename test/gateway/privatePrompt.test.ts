import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningGateway, startGateway } from '../../src/cli/up.js'
import type { CallOptions } from '../../src/models/backend.js'
import { InstantBackend } from '../../src/models/instant.js'
import type { ChatMessage } from '../../src/protocol/messages.js'
import { promptHash } from '../../src/round/rules.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any

/**
 * `chorus: {private: true}` and `--private` on the API: the Query the gateway broadcasts carries
 * the prompt's hash and size only; the members answered the prompt itself; the provenance, the
 * transcript and the dashboard say the round was private.
 */
const SECRET = 'Our merger with Example Corp closes on 3 March; what is 6 × 7?'

describe('private rounds on the API', () => {
  const seen: string[] = []
  class Echo extends InstantBackend {
    override async answer(messages: readonly ChatMessage[], options: CallOptions = {}): Promise<string> {
      seen.push(messages.map((m) => m.content).join('\n'))
      options.onUsage?.({ prompt: 1, completion: 1 })
      return 'The answer is 42.'
    }
  }
  let gw: RunningGateway
  let defaultPrivate: RunningGateway
  beforeAll(async () => {
    const settings = { host: '127.0.0.1', port: 0, nodes: 3, models: [], apiKeys: [], answerSeconds: 5, maxRounds: 4 }
    gw = await startGateway(settings, [0, 1, 2].map((i) => new Echo(`echo-${i}`)))
    defaultPrivate = await startGateway({ ...settings, privatePrompts: true }, [0, 1, 2].map((i) => new Echo(`echo-p${i}`)))
  })
  afterAll(async () => {
    await gw.close()
    await defaultPrivate.close()
  })
  const ask = async (url: string, chorus?: object): Promise<Json> => {
    const res = await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content: SECRET }], ...(chorus ? { chorus } : {}) }) })
    expect(res.status).toBe(200)
    return res.json()
  }

  it('broadcasts the hash alone; the members answered the prompt; the transcript holds it after the seal', async () => {
    seen.length = 0
    const res = await ask(gw.url, { private: true })
    expect(res.chorus.private).toBe(true)
    expect(seen).toHaveLength(3)
    for (const s of seen) expect(s).toBe(SECRET)
    const file: Json = await (await fetch(res.chorus.transcript)).json()
    const [query, ...rest] = file.envelopes
    expect(query.body.messages).toEqual([])
    expect(JSON.stringify(query)).not.toContain('merger')
    const prompt = rest.find((e: Json) => e.type === 'Prompt')
    expect(prompt.body.messages).toEqual([{ role: 'user', content: SECRET }])
    expect(promptHash(prompt.body.messages, prompt.body.salt)).toBe(query.body.prompt.hash)
    const page: Json = await (await fetch(`${gw.url}/dashboard/rounds/${res.chorus.round}`)).json()
    expect(page).toMatchObject({ private: true, question: SECRET })
  })

  it('is off unless asked; --private makes it the default, and a request may still opt out', async () => {
    expect((await ask(gw.url)).chorus.private).toBe(false)
    expect((await ask(defaultPrivate.url)).chorus.private).toBe(true)
    expect((await ask(defaultPrivate.url, { private: false })).chorus.private).toBe(false)
    const bad = await fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content: 'hi' }], chorus: { private: 'yes' } }) })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as Json).error.param).toBe('chorus.private')
  })
})
