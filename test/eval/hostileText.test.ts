import { describe, expect, it } from 'vitest'
import { measureDefences } from '../../src/eval/hostileText.js'

describe('the hostile-text defences, measured on the judging prompt', () => {
  it('take every hidden character and every forged prompt line away that the raw answer would bring', () => {
    const m = new Map(measureDefences().map((x) => [x.attack, x]))
    // The unicode dressing hides an instruction in tag characters behind a bidi override; the delimiter one forges the prompt's structure.
    expect(m.get('unicode')!.hidden.raw).toBeGreaterThan(20)
    expect(m.get('unicode')!.folded).toBeGreaterThan(0)
    expect(m.get('delimiter')!.forgedLines.raw).toBeGreaterThanOrEqual(5)
    for (const x of m.values()) {
      expect(x.hidden.defended).toBe(0)
      expect(x.forgedLines.defended).toBe(0)
    }
    // Plain-word dressings pass unchanged: what they achieve is up to the judge.
    expect(m.get('injection')!).toMatchObject({ hidden: { raw: 0 }, forgedLines: { raw: 0 }, folded: 0 })
  })
})
