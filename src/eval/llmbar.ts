import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import type { JudgeModel } from './modelledJudge.js'
import { DataError } from './zeroeval.js'

/**
 * Real judges measured on LLMBar (MIT): gold-labelled answer pairs, each judged by six LLMs in both
 * orders. Per judge: accuracy, how often it picks whichever answer is shown first, and how often its
 * verdict is neither answer. From those, the parameters of a modelled judge that behaves alike:
 * position bias b = 2·(first rate) − 1 (the share of verdicts that ignore content), and the accuracy
 * of the remaining verdicts, (accuracy − b/2) / (1 − b).
 */
export interface MeasuredJudge {
  judge: string
  /** Verdicts counted (pairs × 2 orders). */
  verdicts: number
  accuracy: number
  firstRate: number
  noVerdictRate: number
  model: JudgeModel
}

type Rec = { label: number; results?: Record<string, { winner?: string }>[] }

/** `natural`: ordinary pairs; `all`: also the adversarial sets, built so the wrong answer looks better. */
export type LlmbarSubset = 'natural' | 'all'

export async function measureLlmbarJudges(dataDir: string, subset: LlmbarSubset = 'natural', strategy = 'Vanilla'): Promise<MeasuredJudge[]> {
  const root = join(dataDir, 'llmbar')
  const subsets: string[] = ['Natural']
  try {
    if (subset === 'all') subsets.push(...(await readdir(join(root, 'Adversarial'))).map((d) => join('Adversarial', d)))
    await readdir(join(root, 'Natural'))
  } catch {
    throw new DataError(`no LLMBar data at ${root}`)
  }
  const tallies = new Map<string, { n: number; right: number; first: number; none: number }>()
  for (const subset of subsets) {
    const evalDir = join(root, subset, 'evaluators')
    for (const judge of await readdir(evalDir)) {
      const dir = join(evalDir, judge, strategy)
      const file = (await readdir(dir).catch(() => [] as string[])).find((f) => f.startsWith('result.json'))
      if (file === undefined) continue
      const buf = await readFile(join(dir, file))
      const recs = JSON.parse((file.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8')) as Rec[]
      const t = tallies.get(judge) ?? { n: 0, right: 0, first: 0, none: 0 }
      for (const r of recs) {
        const res = r.results?.[0]
        if (!res) continue
        // "swap = True" showed output_2 first; winners are reported in the original numbering.
        for (const [key, shownFirst] of [
          ['swap = False', '1'],
          ['swap = True', '2'],
        ] as const) {
          const w = res[key]?.winner
          if (w === undefined) continue
          t.n++
          if (w !== '1' && w !== '2') t.none++
          else {
            if (Number(w) === r.label) t.right++
            if (w === shownFirst) t.first++
          }
        }
      }
      tallies.set(judge, t)
    }
  }
  return [...tallies.entries()]
    .map(([judge, t]) => {
      const accuracy = t.right / t.n
      const firstRate = t.first / t.n
      const noVerdictRate = t.none / t.n
      const decided = 1 - noVerdictRate
      // Within decided verdicts: first-picking beyond half is bias; the rest is judged on content.
      const bias = Math.max(0, Math.min(0.99, 2 * (firstRate / decided) - 1))
      const contentAccuracy = Math.min(1, Math.max(0, (accuracy / decided - bias / 2) / (1 - bias)))
      return {
        judge,
        verdicts: t.n,
        accuracy,
        firstRate,
        noVerdictRate,
        model: { accuracy: contentAccuracy, positionBias: bias, tieRate: noVerdictRate, sameTieRate: 0.5 },
      }
    })
    .sort((a, b) => b.accuracy - a.accuracy)
}
