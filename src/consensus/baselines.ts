import { replyKey } from './answers.js'

/** Baselines computed beside the swarm's choice, over final answers (see answers.ts). */
export interface VoteResult {
  /** Index of the representative answer of the largest group (lowest index in it). */
  winner: number
  /** Size of each answer's group. */
  support: number[]
}

/** Plurality vote over final answers; a tie between groups goes to the group seen first. */
export function majorityVote(answers: readonly string[]): VoteResult {
  return majorityVoteByKey(answers.map(replyKey))
}

/** The same vote over answers already reduced to their grouping keys. */
export function majorityVoteByKey(keys: readonly string[]): VoteResult {
  const groups = new Map<string, number[]>()
  keys.forEach((key, i) => {
    const g = groups.get(key)
    if (g === undefined) groups.set(key, [i])
    else g.push(i)
  })
  const support = new Array<number>(keys.length).fill(0)
  let winner = -1
  let best = 0
  for (const members of groups.values()) {
    for (const i of members) support[i] = members.length
    if (members.length > best) {
      best = members.length
      winner = members[0]!
    }
  }
  return { winner, support }
}
