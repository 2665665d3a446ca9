import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { baselineScores } from '../../src/eval/baselines.js'
import { DataError, loadZeroEval } from '../../src/eval/zeroeval.js'

/** Runs on the shared data when it sits beside the project (as in CI); skips, saying so, when not. */
const DATA = resolve(process.env.CHORUS_DATA ?? '../shared/data')
const present = existsSync(`${DATA}/zeroeval/gsm`)
if (!present) console.warn(`skipping the ZeroEval replay tests: no data at ${DATA} (set CHORUS_DATA)`)

describe.skipIf(!present)('ZeroEval replay baselines with our answer extraction', () => {
  it('gsm: majority ≈ 0.93, oracle ≈ 0.98, best single ≈ 0.90 (the data README figures)', async () => {
    const s = baselineScores(await loadZeroEval(DATA, 'gsm'))
    expect(s.questions).toBe(1319)
    expect(s.majority / s.questions).toBeGreaterThan(0.92)
    expect(s.oracle / s.questions).toBeGreaterThan(0.975)
    expect(s.bestSingle.correct / s.questions).toBeGreaterThan(0.89)
    expect(s.unextracted).toBeLessThan(10)
  })

  it('math-l5: majority (≈ 0.37) is below the best single model (≈ 0.51); oracle ≈ 0.69', async () => {
    const s = baselineScores(await loadZeroEval(DATA, 'math-l5'))
    expect(s.questions).toBe(721)
    expect(s.majority / s.questions).toBeGreaterThan(0.35)
    expect(s.majority).toBeLessThan(s.bestSingle.correct)
    expect(s.oracle / s.questions).toBeGreaterThan(0.66)
  })
})

describe('ZeroEval loading errors', () => {
  it('says where it looked when the data is missing', async () => {
    await expect(loadZeroEval('/no/such/dir', 'gsm')).rejects.toBeInstanceOf(DataError)
    await expect(loadZeroEval('/no/such/dir', 'gsm')).rejects.toThrow(/no ZeroEval data at \/no\/such\/dir/)
  })
})
