import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningGateway, startGateway } from '../../src/cli/up.js'
import { ibanValid, luhn, Redactor } from '../../src/gateway/privacy/redaction.js'
import type { CallOptions } from '../../src/models/backend.js'
import { InstantBackend } from '../../src/models/instant.js'
import type { ChatMessage } from '../../src/protocol/messages.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any

const PERSONAL = 'Mail jane.doe+work@example.co.uk or call +44 20 7946 0958; card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32. Order 12345678, 2024-05-17, total 1,234.56.'

describe('personal data in a request', () => {
  it('is replaced by placeholders, the same value by the same one, and ordinary numbers are left alone', () => {
    const { texts, redaction } = new Redactor().redact([PERSONAL, 'again: jane.doe+work@example.co.uk'])
    expect(texts[0]).toBe('Mail ⟦EMAIL_1⟧ or call ⟦PHONE_1⟧; card ⟦CARD_1⟧, IBAN ⟦IBAN_1⟧. Order 12345678, 2024-05-17, total 1,234.56.')
    expect(texts[1]).toBe('again: ⟦EMAIL_1⟧')
    expect(redaction.counts).toEqual({ EMAIL: 1, PHONE: 1, CARD: 1, IBAN: 1 })
    expect(Redactor.restore(`Reply to ⟦EMAIL_1⟧ about ⟦CARD_1⟧ (⟦PHONE_9⟧)`, redaction)).toBe('Reply to jane.doe+work@example.co.uk about 4111 1111 1111 1111 (⟦PHONE_9⟧)')
  })

  it('checks what has a check: a card number must pass Luhn, an IBAN mod 97', () => {
    expect(luhn('4111 1111 1111 1111')).toBe(true)
    expect(luhn('4111 1111 1111 1112')).toBe(false)
    expect(ibanValid('GB82 WEST 1234 5698 7654 32')).toBe(true)
    expect(ibanValid('GB83 WEST 1234 5698 7654 32')).toBe(false)
    expect(new Redactor().redact(['card 4111 1111 1111 1112']).texts[0]).toBe('card 4111 1111 1111 1112')
  })

  it('takes the operator’s own patterns', () => {
    const r = new Redactor([/EMP-\d{6}/]).redact(['employee EMP-123456 asked'])
    expect(r.texts[0]).toBe('employee ⟦PRIVATE_1⟧ asked')
  })

  it('round-trips: what the client sent comes back, whatever the text', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.emailAddress(), fc.constantFrom('+1 415 555 2671', '4111111111111111', 'DE89 3704 0044 0532 0130 00'), fc.string({ maxLength: 20 })), { maxLength: 8 }), (parts) => {
        const text = parts.join(' ')
        const { texts, redaction } = new Redactor().redact([text])
        expect(Redactor.restore(texts[0]!, redaction)).toBe(text)
      }),
    )
  })
})

describe('--redact on the API', () => {
  const seen: string[] = []
  class Echo extends InstantBackend {
    override async answer(messages: readonly ChatMessage[], options: CallOptions = {}): Promise<string> {
      seen.push(messages.map((m) => m.content).join('\n'))
      options.onUsage?.({ prompt: 1, completion: 1 })
      return `I will write to ${/⟦EMAIL_\d+⟧/.exec(messages.at(-1)!.content)?.[0] ?? 'nobody'}.`
    }
  }
  let gw: RunningGateway
  beforeAll(async () => {
    gw = await startGateway({ host: '127.0.0.1', port: 0, nodes: 3, models: [], apiKeys: [], answerSeconds: 5, maxRounds: 4, redactor: new Redactor() }, [0, 1, 2].map((i) => new Echo(`echo-${i}`)))
  })
  afterAll(() => gw.close())

  it('no node sees the personal data, the transcript holds placeholders, and the client gets its own text back', async () => {
    const res: Json = await (await fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content: PERSONAL }] }) })).json()
    expect(res.choices[0].message.content).toBe('I will write to jane.doe+work@example.co.uk.')
    expect(res.chorus.redacted).toEqual({ EMAIL: 1, PHONE: 1, CARD: 1, IBAN: 1 })
    for (const s of seen) expect(s).not.toMatch(/jane|7946|4111|WEST/)
    const transcript = await (await fetch(res.chorus.transcript)).text()
    expect(transcript).not.toMatch(/jane|7946 0958|4111 1111|WEST 1234/)
    expect(transcript).toContain('⟦EMAIL_1⟧')
    // The dashboard shows the round as the nodes saw it, and says what was replaced.
    const page: Json = await (await fetch(`${gw.url}/dashboard/rounds/${res.chorus.round}`)).json()
    expect(page.redacted).toEqual({ EMAIL: 1, PHONE: 1, CARD: 1, IBAN: 1 })
    expect(JSON.stringify(page)).not.toMatch(/jane|4111 1111/)
  })
})
