import { SeededRandom } from '../consensus/prng.js'
import { hashParts } from '../crypto/hash.js'

/**
 * A MODELLED judge (reports say so): it knows which of two answers is right and reports it with a
 * set accuracy, plus position bias and ties. Draws are a pure function of (seed, judge, pair), so a
 * replay is reproducible and both orders of a pair are independent draws.
 *
 * - right vs wrong: picks the right one with probability `accuracy` (after ties and bias);
 * - both right or both wrong: a tie with probability `sameTieRate`, else a coin flip;
 * - `tieRate`: any verdict is a tie with this probability; `positionBias`: with this probability
 *   the judge just picks the first answer shown.
 */
export interface JudgeModel {
  accuracy: number
  positionBias?: number
  tieRate?: number
  sameTieRate?: number
}

export function modelledVerdict(model: JudgeModel, seed: string, firstRight: boolean, secondRight: boolean): 'A' | 'B' | 'T' {
  const rng = new SeededRandom(hashParts('modelled-judge', seed))
  const u = () => rng.nextU32() / 2 ** 32
  if (u() < (model.tieRate ?? 0)) return 'T'
  if (u() < (model.positionBias ?? 0)) return 'A'
  if (firstRight === secondRight) return u() < (model.sameTieRate ?? 0.5) ? 'T' : u() < 0.5 ? 'A' : 'B'
  const pickRight = u() < model.accuracy
  return pickRight === firstRight ? 'A' : 'B'
}
