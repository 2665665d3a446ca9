import { createOpenAI } from '@ai-sdk/openai'
import { ChatOpenAI } from '@langchain/openai'
import { generateText, streamText } from 'ai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningGateway, startGateway } from '../../src/cli/up.js'
import type { CallOptions } from '../../src/models/backend.js'
import { InstantBackend } from '../../src/models/instant.js'

/** An instant backend that adds up the tokens it reports, as a real backend's meter would. */
class Counting extends InstantBackend {
  spent = { prompt: 0, completion: 0 }
  private count(options: CallOptions = {}): CallOptions {
    return { ...options, onUsage: (u) => ((this.spent.prompt += u.prompt), (this.spent.completion += u.completion), options.onUsage?.(u)) }
  }
  override answer(messages: Parameters<InstantBackend['answer']>[0], options?: CallOptions) {
    return super.answer(messages, this.count(options))
  }
  override judge(req: Parameters<InstantBackend['judge']>[0], options?: CallOptions) {
    return super.judge(req, this.count(options))
  }
}

/** The SDKs people reach for first, unchanged, against `chorus up`: the AI SDK (both of its OpenAI models) and LangChain. */
describe('popular OpenAI clients against the gateway', () => {
  let gw: RunningGateway
  let backends: Counting[]
  beforeAll(async () => {
    backends = Array.from({ length: 5 }, (_, i) => new Counting(`sdk-${i}`))
    gw = await startGateway({ host: '127.0.0.1', port: 0, nodes: 5, models: [], apiKeys: ['sk-sdk'], answerSeconds: 5, maxRounds: 2 }, backends)
  })
  afterAll(() => gw.close())

  /** Tokens the members' backends counted since `before`. */
  const spent = (before: { prompt: number; completion: number }) => {
    const now = backends.reduce((s, b) => ({ prompt: s.prompt + b.spent.prompt, completion: s.completion + b.spent.completion }), { prompt: 0, completion: 0 })
    return { prompt: now.prompt - before.prompt, completion: now.completion - before.completion }
  }
  const mark = () => spent({ prompt: 0, completion: 0 })

  it("the AI SDK's default openai(model) — the Responses API — plain and streamed, with usage the backends reported", async () => {
    const openai = createOpenAI({ baseURL: gw.url, apiKey: 'sk-sdk' })
    const before = mark()
    const r = await generateText({ model: openai('chorus-swarm'), prompt: 'What is 6 × 7?' })
    expect(r.text).toMatch(/^instant answer \d$/)
    const used = spent(before)
    expect(r.usage.inputTokens).toBe(used.prompt)
    expect(r.usage.outputTokens).toBe(used.completion)
    const s = streamText({ model: openai('chorus-swarm'), prompt: 'Stream it.' })
    let text = ''
    for await (const piece of s.textStream) text += piece
    expect(text).toMatch(/^instant answer \d$/)
  })

  it("the AI SDK's openai.chat(model) — chat completions — plain and streamed", async () => {
    const openai = createOpenAI({ baseURL: gw.url, apiKey: 'sk-sdk' })
    const r = await generateText({ model: openai.chat('chorus-swarm'), prompt: 'Hello?' })
    expect(r.text).toMatch(/^instant answer \d$/)
    const s = streamText({ model: openai.chat('chorus-swarm'), prompt: 'Hello, streamed?' })
    let text = ''
    for await (const piece of s.textStream) text += piece
    expect(text).toMatch(/^instant answer \d$/)
    expect((await s.usage).totalTokens).toBeGreaterThan(0)
  })

  it("LangChain's ChatOpenAI, invoked and streamed", async () => {
    const llm = new ChatOpenAI({ model: 'chorus-swarm', apiKey: 'sk-sdk', configuration: { baseURL: gw.url }, maxRetries: 0 })
    const before = mark()
    const msg = await llm.invoke('What is the capital of Australia?')
    expect(msg.content).toMatch(/^instant answer \d$/)
    expect(msg.usage_metadata?.input_tokens).toBe(spent(before).prompt)
    let text = ''
    for await (const chunk of await llm.stream('And of Canada?')) text += String(chunk.content)
    expect(text).toMatch(/^instant answer \d$/)
  })
})
