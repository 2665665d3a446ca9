import { describe, expect, it } from 'vitest'
import { statusLine } from '../../src/node/statusLine.js'

describe("the node's status line", () => {
  it('says what the node does, how it stands on the ledger, and why it is paused', () => {
    expect(statusLine({ peers: 1, active: 0, done: 0, won: 0, other: 0, declined: 0 })).toBe('1 peer · 0 active · 0 rounds done, 0 won')
    expect(
      statusLine({ peers: 4, active: 2, done: 37, won: 9, other: 3, declined: 5, judgeWeight: 1.386, reputationPpm: 612_345, rankedRounds: 30, balance: '1.250000', paused: 'machine busy or quiet hours' }),
    ).toBe('4 peers · 2 active · 37 rounds done, 9 won · 3 ended early · 5 declined · judge weight 1.39 (accuracy 80 %) · reputation 61.2 % · 30 ranked · balance 1.250000 · PAUSED: machine busy or quiet hours')
    expect(statusLine({ peers: 2, active: 0, done: 1, won: 1, other: 0, declined: 0, judgeWeight: 0 })).toContain('not yet a judge')
  })
})
