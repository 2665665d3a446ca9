import { majorityVote } from '../consensus/baselines.js'
import { replyKey } from '../consensus/answers.js'
import { SeededRandom } from '../consensus/prng.js'
import { hashParts } from '../crypto/hash.js'
import { type Identity, identityFromSeed } from '../crypto/identity.js'
import { DRIVER_COORDINATOR, type DriverNode, driveRound } from '../eval/roundDriver.js'
import { modelledVerdict } from '../eval/modelledJudge.js'
import { signBeaconRequest } from '../ledger/beaconRequest.js'
import { DEFAULT_CALIBRATION, signCalibrationAnswer, signCalibrationAsk } from '../ledger/calibration.js'
import { CalibrationPool, calibrationSeed } from '../ledger/calibrationPool.js'
import { signRequest } from '../ledger/requests.js'
import { DEFAULT_SETTLEMENT_RULES } from '../ledger/settlement.js'
import { SqliteLedger } from '../ledger/sqliteLedger.js'
import { CURRENT_RULES } from '../protocol/rulesVersions.js'
import type { Behaviour, Population } from './population.js'

/**
 * `chorus sim` (a SIMULATOR: the nodes are modelled, the protocol is real): a population of
 * modelled nodes runs rounds through the real round state machines, real signatures, the real
 * assignment and aggregation, and a real SQLite ledger (in memory, on a virtual clock) that locks
 * tickets, issues beacons and settles every round, its state carried from round to round. Each
 * round draws its sub-swarm from the population; only the drawn members take part.
 */
export interface SimOptions {
  population: Population
  rounds: number
  seed: string
  /** Each round's fee and each member's ticket, micro-units. */
  fee?: bigint
  ticket?: bigint
  /** Whether judges must pass the ledger's calibration challenge (default true). */
  calibration?: boolean
  /** Who forfeits a ticket: no-shows only (default), or every non-winner (the whitepaper's rule). */
  forfeit?: 'no-shows' | 'non-winners'
}

const pairKey = (question: string, x: string, y: string) => [question, ...[x, y].sort()].join('\n')

/** The right answer of each of the pool's first items, by question and pair (the simulator runs the ledger, so it knows them). */
function knownAnswers(operator: Identity, slots: number): Map<string, string> {
  const pool = new CalibrationPool(calibrationSeed(operator))
  const map = new Map<string, string>()
  for (let slot = 0; slot < slots; slot++) {
    const item = pool.item(slot)
    map.set(pairKey(item.question, item.right, item.wrong), item.right)
  }
  return map
}

export interface SimNode {
  identity: Identity
  behaviour: Behaviour
  skill: number
  judgeAccuracy: number
  joined: number
  /** What the node holds at the end less what it was given at the start (micro-units). */
  gain: bigint
  /** Passed its calibration challenge (its verdicts weigh). */
  calibrated: boolean
}

export interface SimResult {
  rounds: { swarmRight: boolean; majorityRight: boolean; ranked: boolean }[]
  nodes: SimNode[]
  fee: bigint
  ticket: bigint
}

const STAKE = 1_000_000n
/** A colluder's answers carry this (invisible) mark, so its friends recognise them when they judge. */
const COLLUDER_MARK = '\u2060'

export function runSimulation(opts: SimOptions): SimResult {
  const fee = opts.fee ?? 1_000_000n
  const ticket = opts.ticket ?? 10_000n
  const rng = new SeededRandom(hashParts('sim', opts.seed))
  const u = () => rng.nextU32() / 2 ** 32
  let t = 1_900_000_000_000
  const operator = identityFromSeed(Buffer.from(hashParts('sim-operator', opts.seed), 'hex'))
  const ledger = SqliteLedger.open({
    path: ':memory:',
    operator,
    now: () => t,
    rules: { calibration: { ...DEFAULT_CALIBRATION, required: opts.calibration ?? true }, settlement: { ...DEFAULT_SETTLEMENT_RULES, forfeit: opts.forfeit ?? 'no-shows' } },
  })
  try {
    const gateway = DRIVER_COORDINATOR
    ledger.submit(signRequest(gateway, 0, { op: 'register', kind: 'gateway' }))
    ledger.credit(gateway.id, fee * BigInt(opts.rounds + 1) * 2n)
    ledger.submit(signRequest(gateway, 1, { op: 'stake', amount: String(fee * BigInt(opts.rounds + 1)) }))
    // Each node gets its stake and enough for the tickets it could lose: its gain is measured from there.
    const given = STAKE + ticket * BigInt(opts.rounds)
    const nodes: SimNode[] = []
    for (const g of opts.population.groups) {
      for (let k = 0; k < g.count; k++) {
        const identity = identityFromSeed(Buffer.from(hashParts('sim-node', opts.seed, String(nodes.length)), 'hex'))
        ledger.submit(signRequest(identity, 0, { op: 'register', kind: 'node' }))
        ledger.credit(identity.id, given)
        ledger.submit(signRequest(identity, 1, { op: 'stake', amount: String(given) }))
        nodes.push({ identity, behaviour: g.behaviour, skill: g.skill, judgeAccuracy: g.judgeAccuracy, joined: 0, gain: 0n, calibrated: false })
      }
    }
    // Proof of capability: each node takes the ledger's challenge, judging its known-answer pairs
    // with its modelled accuracy (the simulator knows the pool's answers: it runs the ledger).
    if (opts.calibration ?? true) {
      const truth = knownAnswers(operator, nodes.length * 12 + 64)
      for (const n of nodes) {
        const challenge = ledger.calibrationChallenge(signCalibrationAsk(n.identity, t))
        const verdicts = challenge.tasks.map((task, i) => {
          const rightFirst = truth.get(pairKey(task.question, task.first, task.second)) === task.first
          return modelledVerdict({ accuracy: n.judgeAccuracy, sameTieRate: 0 }, hashParts('sim-calibration', opts.seed, n.identity.id, String(i)), rightFirst, !rightFirst) === 'A' ? ('A' as const) : ('B' as const)
        })
        n.calibrated = ledger.answerCalibration(signCalibrationAnswer(n.identity, challenge.id, verdicts)).passed
      }
    }
    const rounds: SimResult['rounds'] = []
    for (let r = 0; r < opts.rounds; r++) {
      const drawn = new Set<number>()
      while (drawn.size < opts.population.members) drawn.add(rng.nextInt(nodes.length))
      const members = [...drawn].map((i) => nodes[i]!)
      const right = `The answer is ${1_000 + r}.`
      const commonWrong = `The answer is ${2_000 + r}.`
      const isRight = (text: string) => replyKey(text) === replyKey(right)
      const answers = new Map<string, string>()
      for (const m of members) {
        m.joined++
        // A no-show locks its ticket and joins, then never answers.
        if (m.behaviour === 'no-show') continue
        let a: string
        if (m.behaviour === 'lazy') a = 'I do not know.'
        else if (u() < m.skill) a = right
        else a = u() < opts.population.correlation ? commonWrong : `The answer is ${3_000 + rng.nextInt(1_000)}.`
        answers.set(m.identity.id, m.behaviour === 'colluder' ? `${a}${COLLUDER_MARK}` : a)
      }
      const drivers: DriverNode[] = members.map((m) => ({
        identity: m.identity,
        answer: answers.get(m.identity.id),
        // A task names the two answers' owners (a, b) and shows their texts (first, second).
        judge: (task) => {
          if (m.behaviour === 'colluder') {
            const ours = (x: string) => x.includes(COLLUDER_MARK)
            if (ours(task.first) !== ours(task.second)) return ours(task.first) ? 'A' : 'B'
          }
          return modelledVerdict({ accuracy: m.judgeAccuracy }, hashParts('sim-verdict', opts.seed, String(r), m.identity.id, task.a, task.b), isRight(task.first), isRight(task.second))
        },
      }))
      const view = ledger.viewAt(ledger.head())!
      const { done } = driveRound(drivers, `Question ${r}`, view, r, {
        terms: { fee: String(fee), ticket: String(ticket) },
        live: {
          rules: CURRENT_RULES,
          now: t,
          beacon: (phase, seal, query) => ledger.beacon(signBeaconRequest(gateway, query, phase, seal)),
          lock: (j, query) => void ledger.lockTicket({ query: query.env, join: j.env }),
        },
      })
      ledger.settle(done.transcript.map((m) => m.env))
      const texts = [...answers.values()]
      rounds.push({ swarmRight: isRight(done.outcome.answer), majorityRight: isRight(texts[majorityVote(texts).winner]!), ranked: done.outcome.ranked })
      t += 60_000
    }
    for (const n of nodes) {
      const a = ledger.account(n.identity.id)!
      n.gain = a.balance + a.stake + a.unbonding - given
    }
    return { rounds, nodes, fee, ticket }
  } finally {
    ledger.close()
  }
}
