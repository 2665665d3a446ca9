import { describe, expect, it } from 'vitest'
import { RoundStore, type StoredRound } from '../../src/gateway/roundStore.js'

const round = (id: string, finishedAt: number, owner?: string): StoredRound => ({
  round: id,
  question: 'q',
  finishedAt,
  roundMs: 1,
  ranked: true,
  winner: 'w',
  root: 'r',
  transcript: 'x'.repeat(100),
  phases: { join: 1, answer: 1, reveal: 1, judge: 1, verdict_reveal: 1, total: 5 },
  answers: 3,
  feeMicro: '0',
  ticketMicro: '0',
  chargeMicro: '0',
  ...(owner ? { owner } : {}),
})

describe('the round store', () => {
  it('forgets rounds (and their prompts) past the retention period', () => {
    const store = new RoundStore({ maxRounds: 10, maxBytes: 1e6, retentionMs: 1_000 })
    store.add(round('a', 0))
    store.add(round('b', 500))
    expect(store.get('a', 900)).toBeDefined()
    expect(store.get('a', 1_001)).toBeUndefined()
    expect(store.recent(10, 1_001).map((r) => r.round)).toEqual(['b'])
    expect(store.heldBytes).toBe(101)
    expect(store.recent(10, 2_000)).toEqual([])
    expect(store.size).toBe(0)
  })

  it('shows an owner only its own rounds; no owner sees all', () => {
    const store = new RoundStore({ maxRounds: 10, maxBytes: 1e6 })
    store.add(round('a', 0, 'alice'))
    store.add(round('b', 0, 'bob'))
    expect(store.get('a', 0, 'bob')).toBeUndefined()
    expect(store.get('a', 0, 'alice')?.round).toBe('a')
    expect(store.get('b', 0)?.round).toBe('b')
    expect(store.recent(10, 0, 'bob').map((r) => r.round)).toEqual(['b'])
    expect(store.recent(10, 0).length).toBe(2)
  })
})
