import { afterEach, describe, expect, it, vi } from 'vitest'
import { identityFromSeed, SignatureVerifier } from '../../src/crypto/identity.js'
import { type Signed, signEnvelope } from '../../src/protocol/envelope.js'
import { MessageIntake } from '../../src/runtime/intake.js'

afterEach(() => vi.restoreAllMocks())

describe('MessageIntake', () => {
  it('delivers in submission order, and a forged message that fails before its turn is counted, not an unhandled rejection', async () => {
    const alice = identityFromSeed(Buffer.alloc(32, 1))
    const mallory = identityFromSeed(Buffer.alloc(32, 2))
    const round = 'cd'.repeat(32)
    // The first message's check is slow, so every later one settles while it waits its turn.
    const original = SignatureVerifier.prototype.verifyAsync
    let calls = 0
    vi.spyOn(SignatureVerifier.prototype, 'verifyAsync').mockImplementation(function (this: SignatureVerifier, ...args) {
      const result = original.apply(this, args)
      return calls++ === 0 ? result.then((ok) => new Promise((r) => setTimeout(() => r(ok), 50))) : result
    })
    const unhandled: unknown[] = []
    const onUnhandled = (err: unknown) => unhandled.push(err)
    process.on('unhandledRejection', onUnhandled)
    try {
      const intake = new MessageIntake({ verification: 'pool' })
      const delivered: Signed[] = []
      for (let seq = 0; seq < 20; seq++) {
        intake.submit(signEnvelope(alice, { type: 'Join', round, seq, body: { ticket: String(seq) } }).wire, (m) => delivered.push(m))
        if (seq % 5 === 0) {
          const real = signEnvelope(mallory, { type: 'Join', round, seq: 100 + seq, body: { ticket: '0' } })
          intake.submit(Buffer.from(real.wire.toString().replace(mallory.id, alice.id)), (m) => delivered.push(m))
        }
      }
      await vi.waitFor(() => expect(delivered).toHaveLength(20), { timeout: 2000 })
      await new Promise((r) => setTimeout(r, 20))
      expect(delivered.map((m) => m.env.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i))
      expect(intake.rejections.get('BAD_SIGNATURE')).toBe(4)
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })
})
