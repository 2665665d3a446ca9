import { capShares } from './judgeWeights.js'

/**
 * The GOOD/BAD prefilter (rules 4 on): which answers the judges' marks leave out as not genuine
 * attempts, of those `confirm` agrees with (the round passes the rules' text check: outcome.ts).
 * A judge marks an answer it saw when more than half of its verdicts on that answer carry the mark
 * (a verdict's `g`: bit 1 the first answer, bit 2 the second). An answer is left out when at least
 * two judges saw it and those that marked it hold more than half of the weight of those that saw
 * it — weights capped as the ranking caps them, so one heavy judge cannot throw an answer out, and
 * judges of no weight (uncalibrated, Sybils) count for nothing. If that would leave no answer, none
 * is left out: the marks decide what is ranked, never that nothing is.
 */
export interface MarkedVerdict {
  judge: string
  a: string
  b: string
  g?: number
}

export const MARK_FIRST = 1
export const MARK_SECOND = 2

/**
 * Per judge, per answer it saw: whether it marked that answer (in more than half of its verdicts
 * showing it). The dashboard shows the same count the rules use.
 */
export function judgeMarks(verdicts: readonly MarkedVerdict[]): Map<string, Map<string, boolean>> {
  const counts = new Map<string, Map<string, { shown: number; marked: number }>>()
  const note = (judge: string, owner: string, marked: boolean) => {
    let byAnswer = counts.get(judge)
    if (byAnswer === undefined) counts.set(judge, (byAnswer = new Map()))
    const c = byAnswer.get(owner) ?? { shown: 0, marked: 0 }
    c.shown++
    if (marked) c.marked++
    byAnswer.set(owner, c)
  }
  for (const v of verdicts) {
    const g = v.g ?? 0
    note(v.judge, v.a, (g & MARK_FIRST) !== 0)
    note(v.judge, v.b, (g & MARK_SECOND) !== 0)
  }
  return new Map([...counts].map(([judge, byAnswer]) => [judge, new Map([...byAnswer].map(([owner, c]) => [owner, 2 * c.marked > c.shown]))]))
}

export function excludedByMarks(
  owners: readonly string[],
  verdicts: readonly MarkedVerdict[],
  judgeWeight: (judge: string) => number,
  maxJudgeShare: number,
  confirm: (owner: string) => boolean = () => true,
): string[] {
  const seen = judgeMarks(verdicts)
  const judges = [...seen.keys()].sort()
  const capped = capShares(
    judges.map((j) => judgeWeight(j)),
    maxJudgeShare,
  )
  const out: string[] = []
  for (const owner of [...owners].sort()) {
    let judgesSaw = 0
    let sawWeight = 0
    let markWeight = 0
    judges.forEach((j, k) => {
      const marked = seen.get(j)!.get(owner)
      if (marked === undefined) return
      judgesSaw++
      sawWeight += capped[k]!
      if (marked) markWeight += capped[k]!
    })
    if (judgesSaw >= 2 && sawWeight > 0 && 2 * markWeight > sawWeight && confirm(owner)) out.push(owner)
  }
  return out.length === owners.length ? [] : out
}
