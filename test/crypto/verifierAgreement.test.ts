import { createHash, createPublicKey, verify as osslVerify } from 'node:crypto'
import fc from 'fast-check'
import sodium from 'sodium-native'
import { describe, expect, it } from 'vitest'
import { identityFromSeed, identitySeed, SignatureVerifier, signBytes } from '../../src/crypto/identity.js'

/**
 * Signatures are checked with libsodium on the calling thread and with node:crypto (OpenSSL) on
 * the thread pool. A transcript's validity must not depend on which: the two paths must accept
 * exactly the same signatures. Left to themselves they do not — OpenSSL accepts a signature whose
 * R is the identity point (S = k·a), libsodium refuses it — so the verifier refuses small-order R
 * before either library sees it. Checked here on crafted signatures and on random corruptions.
 */
const L = 2n ** 252n + 27742317777372353535851937790883648493n
const le = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).reverse().toString('hex') || '0'}`)
const toLe = (x: bigint) => Buffer.from(x.toString(16).padStart(64, '0'), 'hex').reverse()
const SPKI = Buffer.from('302a300506032b6570032100', 'hex')

/** A signature with R = identity that OpenSSL accepts: S = H(R‖A‖M)·a mod L. */
function identityRSignature(seed: Buffer, publicKey: Buffer, message: Buffer): Buffer {
  const h = createHash('sha512').update(seed).digest()
  h[0]! &= 248
  h[31]! &= 127
  h[31]! |= 64
  const a = le(h.subarray(0, 32))
  const R = Buffer.alloc(32)
  R[0] = 1
  const k = le(createHash('sha512').update(Buffer.concat([R, publicKey, message])).digest()) % L
  return Buffer.concat([R, toLe((k * a) % L)])
}

const both = async (v: SignatureVerifier, id: string, message: Buffer, sig: string) => [v.verify(id, message, sig), await v.verifyAsync(id, message, sig)]

describe('the two signature paths agree', () => {
  const identity = identityFromSeed(Buffer.alloc(32, 7))
  const pk = Buffer.from(identity.id, 'hex')
  const key = createPublicKey({ key: Buffer.concat([SPKI, pk]), format: 'der', type: 'spki' })
  const v = new SignatureVerifier()

  it('on a signature with R the identity point: OpenSSL alone would accept it; both paths refuse it', async () => {
    const message = Buffer.from('transfer everything')
    const sig = identityRSignature(identitySeed(identity), pk, message)
    expect(osslVerify(null, message, key, sig)).toBe(true)
    expect(sodium.crypto_sign_verify_detached(sig, message, pk)).toBe(false)
    expect(await both(v, identity.id, message, sig.toString('hex'))).toEqual([false, false])
  })

  it('on S ≥ L (a malleated copy of a valid signature)', async () => {
    const message = Buffer.from('pay once')
    const sig = Buffer.from(signBytes(identity, message), 'hex')
    const malleated = Buffer.concat([sig.subarray(0, 32), toLe(le(sig.subarray(32)) + L)])
    expect(await both(v, identity.id, message, sig.toString('hex'))).toEqual([true, true])
    expect(await both(v, identity.id, message, malleated.toString('hex'))).toEqual([false, false])
  })

  it('on valid signatures and on every kind of corruption of them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), fc.nat(63), fc.integer({ min: 1, max: 255 }), fc.boolean(), async (seed, msg, at, flip, corrupt) => {
        const id = identityFromSeed(seed)
        const message = Buffer.from(msg)
        const sig = Buffer.from(signBytes(id, message), 'hex')
        if (corrupt) sig[at]! ^= flip
        const [sync, pooled] = await both(v, id.id, message, sig.toString('hex'))
        expect(sync).toBe(pooled)
        expect(sync).toBe(!corrupt)
      }),
      { numRuns: 300, seed: 42 },
    )
  })

  it('on small-order and non-canonical R with any S', async () => {
    const message = Buffer.from('m')
    const weakR = ['0100000000000000000000000000000000000000000000000000000000000000', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', 'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff']
    for (const r of weakR) {
      for (const s of [0n, 1n, L - 1n]) expect(await both(v, identity.id, message, `${r}${toLe(s).toString('hex')}`)).toEqual([false, false])
    }
  })
})
