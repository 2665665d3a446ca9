import { SeededRandom } from '../consensus/prng.js'
import { hashParts } from '../crypto/hash.js'

/**
 * A MODELLED judge (reports say so): it knows which of two answers is right and reports it with a
 * set accuracy, plus position bias, ties, self-preference and susceptibility to prompt injection.
 * Draws are a pure function of (seed, judge, pair), so a replay is reproducible and both orders of
 * a pair are independent draws. A behaviour set to 0 draws nothing, so adding one leaves the
 * others' draws, and earlier reports, unchanged.
 *
 * In order: `tieRate`: any verdict is a tie with this probability; `positionBias`: the judge just
 * picks the first answer shown; `injectionSusceptibility`: when exactly one answer carries injected
 * instructions, the judge obeys them; `selfPreference`: when exactly one answer has the judge's own
 * final answer, the judge picks it. Otherwise, right vs wrong: the right one with probability
 * `accuracy`; both right or both wrong: a tie with probability `sameTieRate`, else a coin flip.
 */
export interface JudgeModel {
  accuracy: number
  positionBias?: number
  tieRate?: number
  sameTieRate?: number
  selfPreference?: number
  injectionSusceptibility?: number
}

/** What a judge sees of each side beyond right or wrong. */
export interface PairContext {
  /** The answer gives the same final answer as the judge's own. */
  ownFirst?: boolean
  ownSecond?: boolean
  /** The answer carries injected instructions to the judge. */
  injectedFirst?: boolean
  injectedSecond?: boolean
}

export function modelledVerdict(model: JudgeModel, seed: string, firstRight: boolean, secondRight: boolean, context: PairContext = {}): 'A' | 'B' | 'T' {
  const rng = new SeededRandom(hashParts('modelled-judge', seed))
  const u = () => rng.nextU32() / 2 ** 32
  if (u() < (model.tieRate ?? 0)) return 'T'
  if (u() < (model.positionBias ?? 0)) return 'A'
  const injected = oneSide(context.injectedFirst, context.injectedSecond)
  if (injected !== undefined && (model.injectionSusceptibility ?? 0) > 0 && u() < model.injectionSusceptibility!) return injected
  const own = oneSide(context.ownFirst, context.ownSecond)
  if (own !== undefined && (model.selfPreference ?? 0) > 0 && u() < model.selfPreference!) return own
  if (firstRight === secondRight) return u() < (model.sameTieRate ?? 0.5) ? 'T' : u() < 0.5 ? 'A' : 'B'
  const pickRight = u() < model.accuracy
  return pickRight === firstRight ? 'A' : 'B'
}

function oneSide(first: boolean | undefined, second: boolean | undefined): 'A' | 'B' | undefined {
  if (first === true && second !== true) return 'A'
  if (second === true && first !== true) return 'B'
  return undefined
}
