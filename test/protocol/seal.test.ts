import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { identityFromSeed, SignatureVerifier } from '../../src/crypto/identity.js'
import { sha256Hex } from '../../src/crypto/hash.js'
import { openEnvelope, signEnvelope } from '../../src/protocol/envelope.js'
import { isSortedUnique, packSeal, sealHas, sealMembers, sealSize } from '../../src/protocol/seal.js'

const h = (s: string) => sha256Hex(s)
const entries = Array.from({ length: 5 }, (_, i) => ({ from: h(`f${i}`), hash: h(`h${i}`) })).sort((a, b) => (a.from < b.from ? -1 : 1))

describe('packed seal lists', () => {
  it('round-trip, and find an entry only at an entry boundary', () => {
    const packed = packSeal(entries)
    expect(sealSize(packed)).toBe(5)
    expect(sealMembers(packed)).toEqual(entries.map((e) => e.from))
    expect(sealHas(packed, entries[2]!.from, entries[2]!.hash)).toBe(true)
    expect(sealHas(packed, entries[2]!.from, entries[3]!.hash)).toBe(false)
    // A from‖hash pair straddling two entries (one entry's hash, the next one's id) is not an entry.
    expect(sealHas(packed, entries[1]!.hash, entries[2]!.from)).toBe(false)
    expect(isSortedUnique(packed)).toBe(true)
    expect(isSortedUnique(packSeal([entries[1]!, entries[0]!]))).toBe(false)
    expect(isSortedUnique(packSeal([entries[1]!, entries[1]!]))).toBe(false)
  })

  it('isSortedUnique agrees with comparing the ids as strings, also when they share long prefixes', () => {
    // Ids over a two-letter alphabet share long prefixes, so the comparison runs deep.
    const id = fc.array(fc.constantFrom('a', 'b'), { minLength: 64, maxLength: 64 }).map((cs) => cs.join(''))
    fc.assert(
      fc.property(fc.array(id, { maxLength: 8 }), (ids) => {
        const packed = packSeal(ids.map((from) => ({ from, hash: h(from) })))
        const expected = ids.every((x, i) => i === 0 || ids[i - 1]! < x)
        expect(isSortedUnique(packed)).toBe(expected)
      }),
    )
  })

  it('a seal is accepted only in canonical form, and only as whole lowercase-hex entries', () => {
    const id = identityFromSeed(Buffer.alloc(32, 3))
    const verifier = new SignatureVerifier()
    const packed = packSeal(entries)
    const good = signEnvelope(id, { type: 'Members', round: h('r'), seq: 1, body: { joins: packed, at: 5 } })
    expect(openEnvelope(good.wire, verifier).env.body).toEqual({ joins: packed, at: 5 })
    const text = good.wire.toString()
    const code = (wire: string) => {
      try {
        openEnvelope(Buffer.from(wire), verifier)
        return 'accepted'
      } catch (err) {
        return (err as { code: string }).code
      }
    }
    // The same value spelled with an escape, or with whitespace: not canonical.
    const c = packed.charAt(10)
    expect(code(text.replace(packed, `${packed.slice(0, 10)}\\u00${c.charCodeAt(0).toString(16)}${packed.slice(11)}`))).toBe('MALFORMED')
    expect(code(text.replace('"joins":"', '"joins": "'))).toBe('MALFORMED')
    // Uppercase, a torn entry, or too many entries: schema errors.
    const bad = (joins: string) => signEnvelope(id, { type: 'Members', round: h('r'), seq: 2, body: { joins, at: 5 } }).wire.toString()
    expect(code(bad(packed.toUpperCase()))).toBe('SCHEMA')
    expect(code(bad(packed.slice(1)))).toBe('SCHEMA')
    expect(code(bad(`${packed.slice(0, -1)}g`))).toBe('SCHEMA')
    expect(code(bad(`${packed.slice(0, 200)}F${packed.slice(201)}`))).toBe('SCHEMA')
    expect(code(bad(`${packed.slice(0, 1)}-${packed.slice(2)}`))).toBe('SCHEMA')
    // A key inherited by every object ("constructor") is still an unknown field.
    const extra = signEnvelope(id, { type: 'Members', round: h('r'), seq: 3, body: { at: 5, constructor: 'x', joins: packed } as never })
    expect(code(extra.wire.toString())).toBe('SCHEMA')
  })
})
