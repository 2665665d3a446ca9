/**
 * The one line `chorus node` keeps redrawn on a terminal: who it talks to, what it has done, and —
 * on a ledger — how it stands there. Pure: the command gathers the numbers.
 */
export interface NodeGlance {
  peers: number
  active: number
  /** Rounds this node saw through to their result, and those its answer won. */
  done: number
  won: number
  /** Rounds it ended otherwise (abandoned, expired, refused on the way). */
  other: number
  declined: number
  /** On a ledger: judge weight (0 until calibrated), answerer reputation (ppm), ranked rounds answered, operator balance. */
  judgeWeight?: number
  reputationPpm?: number
  rankedRounds?: number
  balance?: string
  /** Why it is not joining now (load governor, model down), if it is not. */
  paused?: string
}

export function statusLine(g: NodeGlance): string {
  const parts = [`${g.peers} peer${g.peers === 1 ? '' : 's'}`, `${g.active} active`, `${g.done} rounds done, ${g.won} won`]
  if (g.other > 0) parts.push(`${g.other} ended early`)
  if (g.declined > 0) parts.push(`${g.declined} declined`)
  // The ledger's judge weight is the log-odds of the judge's measured accuracy: shown as both.
  if (g.judgeWeight !== undefined) parts.push(g.judgeWeight > 0 ? `judge weight ${g.judgeWeight.toFixed(2)} (accuracy ${(100 / (1 + Math.exp(-g.judgeWeight))).toFixed(0)} %)` : 'not yet a judge')
  if (g.reputationPpm !== undefined) parts.push(`reputation ${(g.reputationPpm / 10_000).toFixed(1)} %`)
  if (g.rankedRounds !== undefined) parts.push(`${g.rankedRounds} ranked`)
  if (g.balance !== undefined) parts.push(`balance ${g.balance}`)
  if (g.paused !== undefined) parts.push(`PAUSED: ${g.paused}`)
  return parts.join(' · ')
}
