import type { Behaviour } from './population.js'
import type { SimRound } from './simulation.js'

/** Counts over a run's rounds that the report and the sweeps both read. */

/** The share of the rounds for which `f` holds (0 of none). */
export function shareOf(rounds: readonly SimRound[], f: (r: SimRound) => boolean): number {
  return rounds.length === 0 ? 0 : rounds.filter(f).length / rounds.length
}

/** Members seated in a round. */
export function seatsIn(r: SimRound): number {
  return Object.values(r.seated).reduce((a, b) => a + b, 0)
}

/** A behaviour's share of all the seats in the rounds. */
export function seatShare(rounds: readonly SimRound[], b: Behaviour): number {
  const seats = rounds.reduce((s, r) => s + seatsIn(r), 0)
  return seats === 0 ? 0 : rounds.reduce((s, r) => s + (r.seated[b] ?? 0), 0) / seats
}

/** Whether a behaviour held half the seats of a round or more. */
export function holdsHalf(r: SimRound, b: Behaviour): boolean {
  return 2 * (r.seated[b] ?? 0) >= seatsIn(r)
}
