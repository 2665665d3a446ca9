import { describe, expect, it } from 'vitest'
import { relevantTo } from '../../src/node/participation.js'

describe('relevance: a node’s declared domains against a Query’s tags', () => {
  it('joins tagged rounds only in its domains, untagged rounds always, and everything when it declares none', () => {
    const math = new Set(['math', 'physics'])
    expect(relevantTo(math, { domains: ['math'] })).toBe(true)
    expect(relevantTo(math, { domains: ['law', 'physics'] })).toBe(true)
    expect(relevantTo(math, { domains: ['law'] })).toBe(false)
    expect(relevantTo(math, { domains: [] })).toBe(true)
    expect(relevantTo(undefined, { domains: ['law'] })).toBe(true)
    expect(relevantTo(new Set(), { domains: ['law'] })).toBe(true)
  })
})
