/**
 * Judge weights from measured accuracy. For independent voters of known accuracy a, the optimal
 * weighted vote uses log(a / (1 − a)); a judge no better than a coin gets 0. Accuracy is clamped
 * below 1 so one perfect record cannot produce an infinite weight.
 */
export const MAX_ACCURACY = 0.99

export function logOddsWeight(accuracy: number): number {
  if (!(accuracy > 0.5)) return 0
  const a = Math.min(accuracy, MAX_ACCURACY)
  return Math.log(a / (1 - a))
}

/**
 * Caps every weight at `maxShare` of the (final) total, redistributing nothing: the capped judges
 * simply count less. If the cap is infeasible (fewer positive judges than 1 / maxShare) it is raised
 * to an equal share. Water-filling: raise the set of capped judges until no uncapped one exceeds.
 */
export function capShares(weights: readonly number[], maxShare: number): number[] {
  const positive = weights.filter((w) => w > 0).length
  if (positive === 0) return weights.map(() => 0)
  const share = Math.max(maxShare, 1 / positive)
  const capped = new Array<boolean>(weights.length).fill(false)
  let cap = Number.POSITIVE_INFINITY
  for (;;) {
    let free = 0
    let k = 0
    for (let i = 0; i < weights.length; i++) {
      if (capped[i]) k++
      else free += Math.max(0, weights[i]!)
    }
    // Everyone at the cap: all equal.
    if (k === positive) return weights.map((w) => (w > 0 ? 1 : 0))
    // With k judges at cap c and the rest summing to `free`: c = share · (k·c + free).
    cap = (share * free) / (1 - k * share)
    let changed = false
    for (let i = 0; i < weights.length; i++) {
      if (!capped[i] && weights[i]! > cap) {
        capped[i] = true
        changed = true
      }
    }
    if (!changed) break
  }
  return weights.map((w, i) => (w <= 0 ? 0 : capped[i] ? cap : w))
}
