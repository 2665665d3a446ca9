import { afterAll, describe, expect, it } from 'vitest'
import { canonicalJson } from '../../src/crypto/canonical.js'
import { identityFromSeed, SignatureVerifier } from '../../src/crypto/identity.js'
import { openEnvelope, signEnvelope } from '../../src/protocol/envelope.js'
import { EnvelopeOpenerPool, type OpenFailure } from '../../src/protocol/openerPool.js'

const alice = identityFromSeed(Buffer.alloc(32, 1))
const mallory = identityFromSeed(Buffer.alloc(32, 2))
const round = 'ab'.repeat(32)
const reveal = (i: number, who = alice) =>
  signEnvelope(who, { type: 'AnswerReveal', round, seq: i, body: { answer: `answer ${i} "é"`, salt: 'cd'.repeat(32), usage: { prompt: i, completion: 1 } } })
const texts = (n: number) => Array.from({ length: n }, (_, i) => reveal(i).wire.toString('utf8'))
const failure = (r: unknown) => r as OpenFailure

describe('the envelope opener pool (worker threads)', () => {
  const pool = new EnvelopeOpenerPool(2)
  afterAll(() => pool.close())

  it('opens what a node opens off the wire, in order, with the same content and hashes', async () => {
    const list = texts(100) // cut into pieces across both threads
    const opened = await pool.open(list)
    if (!Array.isArray(opened)) throw opened.error
    const verifier = new SignatureVerifier()
    expect(opened.map((m) => m.hash)).toEqual(list.map((t) => openEnvelope(Buffer.from(t), verifier).hash))
    expect(opened.map((m) => m.env)).toEqual(list.map((t) => JSON.parse(t)))
    expect(opened.every((m, i) => m.wire.toString('utf8') === list[i])).toBe(true)
  })

  it('names the first envelope that fails, wherever it is, with the code the wire would give', async () => {
    const list = texts(90)
    const forged = JSON.parse(list[70]!) as { sig: string }
    forged.sig = reveal(70, mallory).env.sig
    list[70] = canonicalJson(forged)
    list[80] = '{"not":"an envelope"}'
    const bad = failure(await pool.open(list))
    expect(bad.index).toBe(70)
    expect(bad.error.code).toBe('BAD_SIGNATURE')

    const unsorted = texts(3)
    const o = JSON.parse(unsorted[1]!) as Record<string, unknown>
    unsorted[1] = JSON.stringify({ v: o.v, ...o })
    expect(failure(await pool.open(unsorted))).toMatchObject({ index: 1, error: { code: 'MALFORMED' } })
    expect(failure(await pool.open(['x'.repeat(300_000)]))).toMatchObject({ index: 0, error: { code: 'OVERSIZED' } })
  })

  it('keeps answering many jobs at once, and an empty one', async () => {
    const jobs = await Promise.all(Array.from({ length: 40 }, (_, j) => pool.open(texts(1 + (j % 7)))))
    expect(jobs.map((r) => (Array.isArray(r) ? r.length : -1))).toEqual(Array.from({ length: 40 }, (_, j) => 1 + (j % 7)))
    expect(await pool.open([])).toEqual([])
  })

  it('a thread that dies fails only the jobs it held; the next job gets a new thread', async () => {
    const p = new EnvelopeOpenerPool(1)
    try {
      expect(Array.isArray(await p.open(texts(2)))).toBe(true)
      const job = p.open(texts(500))
      // Killed from outside mid-job (as a crash in the thread would end it).
      const thread = (p as unknown as { threads: { worker: { terminate(): Promise<number> } }[] }).threads[0]!
      await thread.worker.terminate()
      await expect(job).rejects.toThrow(/exited/)
      expect(Array.isArray(await p.open(texts(3)))).toBe(true)
    } finally {
      await p.close()
    }
  })

  it('refuses work once closed', async () => {
    const p = new EnvelopeOpenerPool(1)
    expect(Array.isArray(await p.open(texts(2)))).toBe(true)
    await p.close()
    await expect(p.open(texts(1))).rejects.toThrow(/closed/)
  })
})
