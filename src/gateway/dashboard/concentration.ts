/**
 * How concentrated judge weight is across the nodes a gateway knows: the largest single share and
 * the Gini coefficient (0: every judge weighs the same; near 1: one judge holds it all). A Sybil
 * farm or a colluding group that gained weight shows as a rising share held by few. Nodes of zero
 * weight count in the Gini (they are judges that do not count), not in the share.
 */
export interface Concentration {
  judges: number
  weighted: number
  total: number
  largest_share: number | null
  gini: number | null
}

export function concentration(weights: readonly number[]): Concentration {
  const ws = weights.filter((w) => Number.isFinite(w) && w >= 0).sort((a, b) => a - b)
  const total = ws.reduce((s, w) => s + w, 0)
  const n = ws.length
  if (n === 0 || total === 0) return { judges: n, weighted: 0, total, largest_share: null, gini: null }
  // Gini from the sorted weights: Σ (2i − n − 1) w_i / (n Σ w).
  let acc = 0
  for (const [i, w] of ws.entries()) acc += (2 * (i + 1) - n - 1) * w
  return { judges: n, weighted: ws.filter((w) => w > 0).length, total, largest_share: ws[n - 1]! / total, gini: acc / (n * total) }
}
