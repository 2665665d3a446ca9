import { majorityVote } from '../consensus/baselines.js'
import { replyKey } from '../consensus/answers.js'
import { goldKey, groupKey } from '../consensus/answerTypes.js'
import { SeededRandom } from '../consensus/prng.js'
import { hashParts } from '../crypto/hash.js'
import { type Identity, identityFromSeed } from '../crypto/identity.js'
import { perturbAnswer } from '../eval/attacker.js'
import type { RecordedTask } from '../eval/zeroeval.js'
import { DRIVER_COORDINATOR, type DriverNode, driveOrAbandon } from '../eval/roundDriver.js'
import { modelledVerdict } from '../eval/modelledJudge.js'
import { signBeaconRequest } from '../ledger/beaconRequest.js'
import { DEFAULT_CALIBRATION, signCalibrationAnswer, signCalibrationAsk } from '../ledger/calibration.js'
import { CalibrationPool, calibrationSeed } from '../ledger/calibrationPool.js'
import { signHiddenAsk, signHiddenReveal } from '../ledger/hiddenRounds.js'
import { signRequest } from '../ledger/requests.js'
import { DEFAULT_SETTLEMENT_RULES, DEFAULT_TICKET_OF_FEE_BP, type ForfeitRule } from '../ledger/settlement.js'
import { SqliteLedger } from '../ledger/sqliteLedger.js'
import { type Signed, signEnvelope } from '../protocol/envelope.js'
import { MAX_ANSWER_CHARS } from '../protocol/limits.js'
import { CURRENT_RULES } from '../protocol/rulesVersions.js'
import { MARK_FIRST, MARK_SECOND } from '../consensus/prefilter.js'
import { notGenuine } from '../protocol/genuine.js'
import { answerFor, COLLUDER_MARK, defenceSurvival, dressingOf, type RoundAnswers, roundAnswers, verdictFor } from './behaviours.js'
import { type Attack, BEHAVIOURS, type Behaviour, type Group, type Population } from './population.js'

/**
 * `chorus sim` (a SIMULATOR: the nodes are modelled, the protocol is real): a population of
 * modelled nodes runs rounds through the real round state machines, real signatures, the real
 * assignment and aggregation, and a real SQLite ledger (in memory, on a virtual clock) that locks
 * tickets, issues beacons and settles every round, its state carried from round to round. Each
 * round draws its joiners from the population; the ledger's beacon seats the members among them,
 * and only they take part.
 */
export interface SimOptions {
  population: Population
  rounds: number
  seed: string
  /** Each round's fee and each member's ticket, micro-units (default: a fee of 1 unit and a network's default ticket, a quarter of it). */
  fee?: bigint
  ticket?: bigint
  /** Whether judges must pass the ledger's calibration challenge (default true). */
  calibration?: boolean
  /** Who forfeits a ticket (ledger/settlement.ts; default: the ledger's default rule). */
  forfeit?: ForfeitRule
  /** A hidden calibration round after every this many client rounds (default 20, a gateway's default rate; 0: none). */
  hiddenEvery?: number
  /**
   * Recorded outputs of real models (ZeroEval): client round r asks question r (in turn) and each
   * node answers what its model answered; judges stay modelled, knowing the gold.
   */
  recorded?: RecordedTask
  /**
   * Whether judges read answers through the hostile-text defences (default true, as every node
   * does): a dressing sways a judge in proportion to what of it survives (`defenceSurvival`).
   */
  defences?: boolean
  /** Called after each round (the CLI's progress line). */
  onRound?: (done: number, of: number) => void
}

const pairKey = (question: string, x: string, y: string) => [question, ...[x, y].sort()].join('\n')

/** The right answer of each of the pool's first items, by question and pair (the simulator runs the ledger, so it knows them). */
function knownAnswers(pool: CalibrationPool, slots: number): Map<string, string> {
  const map = new Map<string, string>()
  for (let slot = 0; slot < slots; slot++) {
    const item = pool.item(slot)
    map.set(pairKey(item.question, item.right, item.wrong), item.right)
  }
  return map
}

export interface SimNode {
  identity: Identity
  group: Group
  behaviour: Behaviour
  /** Rounds it was seated in. */
  joined: number
  /** What the node holds at the end less what it was given at the start (micro-units). */
  gain: bigint
  /** Passed its calibration challenge (its verdicts weigh). */
  calibrated: boolean
}

export interface SimRound {
  swarmRight: boolean
  majorityRight: boolean
  ranked: boolean
  /** Some member revealed the right answer. */
  rightPresent: boolean
  /** The behaviour of the node whose answer won, and its index in the population. */
  winner: Behaviour
  winnerIndex: number
  /** The dressing the winning answer carried, if any. */
  winningAttack?: Attack
  /** Dressings among the revealed answers. */
  attacks: Attack[]
  /** Members seated, by behaviour. */
  seated: Partial<Record<Behaviour, number>>
  /** Queries the coordinator asked for this question (more than 1: it abandoned rounds). */
  tries: number
  /** Copiers that revealed an answer other than the one they committed to, and of them the ones refused. */
  copies: number
  copiesRefused: number
  /** Answers the GOOD/BAD prefilter left out (their tickets forfeit), by behaviour, and how many of them were right. */
  excluded: Partial<Record<Behaviour, number>>
  excludedRight: number
}

/** Per behaviour at a point in the run: mean answerer reputation and share of all judge weight. */
export interface TrajectoryPoint {
  round: number
  reputation: Partial<Record<Behaviour, number>>
  judgeShare: Partial<Record<Behaviour, number>>
}

export interface SimResult {
  rounds: SimRound[]
  nodes: SimNode[]
  fee: bigint
  ticket: bigint
  /** The ledger's forfeit rule in the run. */
  forfeit: ForfeitRule
  trajectory: TrajectoryPoint[]
  /** What the answers replayed, when they came from recorded outputs. */
  replayed?: { task: string; models: string[]; questions: number }
  /** Hidden calibration rounds run between the client rounds (not in `rounds`). */
  hiddenRounds: number
  /** Fees the coordinator forfeited for rounds it abandoned. */
  feesForfeited: bigint
  /** Whether judges read through the hostile-text defences. */
  defences: boolean
  /** Wall time spent setting up (accounts, stakes, calibration) and running the rounds; never in a report. */
  timing: { setupMs: number; roundsMs: number }
}

const STAKE = 1_000_000n
const DEFAULT_HIDDEN_EVERY = 20

export function runSimulation(opts: SimOptions): SimResult {
  const survival = opts.defences === false ? () => 1 : defenceSurvival
  const { population } = opts
  const fee = opts.fee ?? 1_000_000n
  const ticket = opts.ticket ?? (fee * DEFAULT_TICKET_OF_FEE_BP) / 10_000n
  const tries = population.grinder?.tries ?? 1
  // Hidden rounds grade judges: without the calibration gate there is nothing to grade.
  const hiddenEvery = opts.calibration === false ? 0 : (opts.hiddenEvery ?? DEFAULT_HIDDEN_EVERY)
  const questions = opts.rounds + (hiddenEvery > 0 ? Math.floor(opts.rounds / hiddenEvery) : 0)
  const started = performance.now()
  const rng = new SeededRandom(hashParts('sim', opts.seed))
  const u = () => rng.nextU32() / 2 ** 32
  let t = 1_900_000_000_000
  const operator = identityFromSeed(Buffer.from(hashParts('sim-operator', opts.seed), 'hex'))
  const ledger = SqliteLedger.open({
    path: ':memory:',
    operator,
    now: () => t,
    rules: { calibration: { ...DEFAULT_CALIBRATION, required: opts.calibration ?? true }, settlement: { ...DEFAULT_SETTLEMENT_RULES, ...(opts.forfeit ? { forfeit: opts.forfeit } : {}) } },
  })
  try {
    const gateway = DRIVER_COORDINATOR
    const deposit = fee * BigInt(questions * tries + 1)
    ledger.submit(signRequest(gateway, 0, { op: 'register', kind: 'gateway' }))
    ledger.credit(gateway.id, deposit)
    ledger.submit(signRequest(gateway, 1, { op: 'stake', amount: String(deposit) }))
    // Each node gets its stake and enough for every ticket it could have locked at once (abandoned
    // rounds hold theirs until they expire): its gain is measured from there.
    const given = STAKE + ticket * BigInt(questions * tries)
    const nodes: SimNode[] = []
    for (const group of population.groups) {
      for (let k = 0; k < group.count; k++) {
        const identity = identityFromSeed(Buffer.from(hashParts('sim-node', opts.seed, String(nodes.length)), 'hex'))
        ledger.submit(signRequest(identity, 0, { op: 'register', kind: 'node' }))
        ledger.credit(identity.id, given)
        ledger.submit(signRequest(identity, 1, { op: 'stake', amount: String(given) }))
        nodes.push({ identity, group, behaviour: group.behaviour, joined: 0, gain: 0n, calibrated: false })
      }
    }
    // The operator's private item pool: the simulator runs the ledger, so it knows every answer.
    const pool = new CalibrationPool(calibrationSeed(operator))
    const modelOf = recordedModels(opts.recorded, nodes)
    const byId = new Map(nodes.map((n) => [n.identity.id, n]))
    const indexOf = new Map(nodes.map((n, i) => [n.identity.id, i]))
    // Proof of capability: each node takes the ledger's challenge, judging its known-answer pairs
    // with its modelled accuracy (the simulator knows the pool's answers: it runs the ledger).
    if (opts.calibration ?? true) {
      const truth = knownAnswers(pool, nodes.length * 12 + 64)
      for (const n of nodes) {
        const challenge = ledger.calibrationChallenge(signCalibrationAsk(n.identity, t))
        const verdicts = challenge.tasks.map((task, i) => {
          const rightFirst = truth.get(pairKey(task.question, task.first, task.second)) === task.first
          return modelledVerdict({ accuracy: n.group.judgeAccuracy, sameTieRate: 0 }, hashParts('sim-calibration', opts.seed, n.identity.id, String(i)), rightFirst, !rightFirst) === 'A' ? ('A' as const) : ('B' as const)
        })
        n.calibrated = ledger.answerCalibration(signCalibrationAnswer(n.identity, challenge.id, verdicts)).passed
      }
    }
    const setupMs = performance.now() - started
    const rounds: SimRound[] = []
    const trajectory: TrajectoryPoint[] = [trajectoryAt(0, ledger, nodes)]
    const every = Math.max(1, Math.ceil(opts.rounds / 20))
    let queries = 0
    let abandoned = 0
    /** Hidden rounds run so far (the k-th took the pool's hidden item k). */
    let hiddenRounds = 0
    /**
     * One question: joiners drawn, answers from the model, the round driven on the ledger (again,
     * for a grinder, while it abandons), settled. `salt` keeps each round's verdict draws apart.
     */
    const play = (question: string, answers: RoundAnswers, salt: string, recorded?: RecordedTask['questions'][number]) => {
      const drawn = new Set<number>()
      while (drawn.size < population.joiners) drawn.add(rng.nextInt(nodes.length))
      const joiners = [...drawn].map((i) => nodes[i]!)
      // Recorded replies are read by their benchmark's answer spec (in the Query too); modelled ones
      // are plain numbers, grouped as rounds did before answer types.
      const spec = recorded?.spec
      const gold = spec ? goldKey(recorded!.gold, spec.type) : replyKey(answers.right)
      const isRight = (text: string) => (spec ? groupKey(text, spec) : replyKey(text)) === gold
      const reply = (m: SimNode) => {
        const r = recorded?.replies[modelOf.get(m)!]
        return r === undefined ? undefined : r.raw.slice(0, MAX_ANSWER_CHARS) || '(no answer)'
      }
      const answerOf = new Map(joiners.map((m) => [m.identity.id, answerFor(m.group, answers, population.correlation, u, () => `The answer is ${3_000 + rng.nextInt(1_000)}.`, reply(m))]))
      let copies = 0
      // A copier commits to a guess, then reveals the right answer in its place, re-signed (as if
      // it had read another member's reveal first): commit–reveal should refuse it.
      const intercept = (msg: Signed): Signed => {
        const copier = byId.get(msg.env.from)
        if (msg.env.type !== 'AnswerReveal' || copier?.behaviour !== 'copier') return msg
        copies++
        const body = (msg as Signed<'AnswerReveal'>).env.body
        return signEnvelope(copier.identity, { type: 'AnswerReveal', round: msg.env.round, seq: msg.env.seq, body: { ...body, answer: answers.right } })
      }
      // Each answer meets its judges in about a dozen judgements: its text is checked once.
      const marked = new Map<string, boolean>()
      const notGenuineText = (text: string) => {
        let bad = marked.get(text)
        if (bad === undefined) marked.set(text, (bad = notGenuine(text, question) !== undefined))
        return bad
      }
      const drivers: DriverNode[] = joiners.map((m) => ({
        identity: m.identity,
        answer: answerOf.get(m.identity.id),
        // A task names the two answers' owners (a, b) and shows their texts (first, second).
        judge: (task) => verdictFor(m.group, hashParts('sim-verdict', opts.seed, salt, m.identity.id, task.a, task.b), task, isRight, survival),
        // Every node runs the node software's GOOD/BAD prefilter (its text check, real) as a judge;
        // a colluder marks every answer but its friends' (to throw them out and take their tickets).
        marks: (task) => (marksAgainst(m.group.behaviour, task.first, notGenuineText) ? MARK_FIRST : 0) | (marksAgainst(m.group.behaviour, task.second, notGenuineText) ? MARK_SECOND : 0),
      }))
      const friends = (seated: readonly string[]) => seated.filter((id) => byId.get(id)!.behaviour === 'colluder').length
      for (let attempt = 1; ; attempt++) {
        copies = 0
        const driven = driveOrAbandon(drivers, question, ledger.viewAt(ledger.head())!, queries++, {
          terms: { fee: String(fee), ticket: String(ticket) },
          maxMembers: population.members,
          intercept,
          ...(spec ? { answer: spec } : {}),
          live: {
            rules: CURRENT_RULES,
            now: t,
            beacon: (phase, seal, query, joins) => ledger.beacon(signBeaconRequest(gateway, query, phase, seal, joins)),
            lock: (j, query) => void ledger.lockTicket({ query: query.env, join: j.env }),
          },
          // The grinder walks away from a round that seated fewer than half its friends.
          ...(population.grinder && attempt < tries ? { abandon: (seated: readonly string[]) => 2 * friends(seated) < seated.length } : {}),
        })
        if ('abandoned' in driven) {
          abandoned++
          continue
        }
        ledger.settle(driven.done.transcript.map((m) => m.env))
        for (const id of driven.seated) byId.get(id)!.joined++
        return { ...driven, attempt, copies, isRight }
      }
    }
    for (let r = 0; r < opts.rounds; r++) {
      const q = opts.recorded?.questions[r % opts.recorded.questions.length]
      const answers = q ? { right: `The answer is ${q.gold}.`, commonWrong: '', attackerWrong: `The answer is ${perturbAnswer(q.gold)}.` } : roundAnswers(r)
      const { done, seated: seatedIds, attempt, copies, isRight } = play(q?.question ?? `Question ${r}`, answers, String(r), q)
      const reveals = done.transcript.filter((m) => m.env.type === 'AnswerReveal') as Signed<'AnswerReveal'>[]
      const texts = reveals.map((m) => m.env.body.answer)
      const seated: SimRound['seated'] = {}
      for (const id of seatedIds) {
        const b = byId.get(id)!.behaviour
        seated[b] = (seated[b] ?? 0) + 1
      }
      const winningAttack = dressingOf(done.outcome.answer)
      rounds.push({
        swarmRight: isRight(done.outcome.answer),
        majorityRight: texts.length > 0 && isRight(texts[majorityVote(texts).winner]!),
        ranked: done.outcome.ranked,
        rightPresent: texts.some(isRight),
        winner: byId.get(done.outcome.winner)!.behaviour,
        winnerIndex: indexOf.get(done.outcome.winner)!,
        ...(winningAttack ? { winningAttack } : {}),
        attacks: [...new Set(texts.map(dressingOf).filter((a) => a !== undefined))],
        seated,
        tries: attempt,
        copies,
        copiesRefused: copies - reveals.filter((m) => byId.get(m.env.from)!.behaviour === 'copier').length,
        excluded: countBy(done.outcome.excluded.map((id) => byId.get(id)!.behaviour)),
        excludedRight: done.outcome.excluded.filter((id) => isRight(reveals.find((m) => m.env.from === id)?.env.body.answer ?? '')).length,
      })
      // A hidden calibration round after every `hiddenEvery` client rounds, as a gateway mixes
      // them in: a known-answer item from the ledger, run like any round, then revealed so the
      // ledger grades its judges where the truth is known.
      if (hiddenEvery > 0 && (r + 1) % hiddenEvery === 0) {
        const item = ledger.hiddenItem(signHiddenAsk(gateway, t))
        const known = pool.hiddenItem(hiddenRounds)
        const hidden = play(item.question, { right: `The answer is ${known.right}.`, commonWrong: `The answer is ${known.wrong}.`, attackerWrong: `The answer is ${known.wrong} or so.` }, `hidden-${r}`)
        ledger.revealHiddenRound(signHiddenReveal(gateway, item.id, hidden.done.result.env.round))
        hiddenRounds++
      }
      t += 60_000
      if ((r + 1) % every === 0 || r + 1 === opts.rounds) trajectory.push(trajectoryAt(r + 1, ledger, nodes))
      opts.onRound?.(r + 1, opts.rounds)
    }
    // Abandoned rounds expire once their time to settle has run out: their fees are forfeited and
    // their tickets come back. The ledger has no timer; each write expires up to 64 due rounds.
    t += ledger.rules().settleWithinMs + 3_600_000
    const gatewayAccount = ledger.accountOfKey(gateway.id)!
    for (let k = 0; k <= Math.ceil(abandoned / 64); k++) ledger.credit(gatewayAccount, 1n)
    for (const n of nodes) {
      const a = ledger.account(n.identity.id)!
      n.gain = a.balance + a.stake + a.unbonding - given
    }
    const gw = ledger.account(gatewayAccount)!
    const feesForfeited = deposit - gw.stake - fee * BigInt(rounds.length + hiddenRounds)
    const replayed = opts.recorded ? { replayed: { task: opts.recorded.task, models: opts.recorded.models, questions: opts.recorded.questions.length } } : {}
    return { rounds, nodes, fee, ticket, forfeit: ledger.rules().settlement.forfeit, trajectory, feesForfeited, hiddenRounds, defences: opts.defences !== false, ...replayed, timing: { setupMs, roundsMs: performance.now() - started - setupMs } }
  } finally {
    ledger.close()
  }
}

/** Which recorded model each node answers with: its group's, or the models in turn. */
function recordedModels(recorded: RecordedTask | undefined, nodes: readonly SimNode[]): Map<SimNode, number> {
  const out = new Map<SimNode, number>()
  if (recorded === undefined) return out
  nodes.forEach((n, i) => {
    const named = n.group.model === undefined ? -1 : recorded.models.indexOf(n.group.model)
    if (n.group.model !== undefined && named < 0) throw new RangeError(`no recorded model ${n.group.model} (the data has ${recorded.models.join(', ')})`)
    out.set(n, named >= 0 ? named : i % recorded.models.length)
  })
  return out
}

function trajectoryAt(round: number, ledger: SqliteLedger, nodes: readonly SimNode[]): TrajectoryPoint {
  const view = ledger.viewAt(ledger.head())!
  const reputation: TrajectoryPoint['reputation'] = {}
  const judgeShare: TrajectoryPoint['judgeShare'] = {}
  let total = 0
  for (const b of BEHAVIOURS) {
    const of = nodes.filter((n) => n.behaviour === b)
    if (of.length === 0) continue
    reputation[b] = of.reduce((s, n) => s + (view.reputationPpm?.(n.identity.id) ?? 0), 0) / of.length / 1e6
    const w = of.reduce((s, n) => s + view.judgeWeight(n.identity.id), 0)
    judgeShare[b] = w
    total += w
  }
  for (const b of Object.keys(judgeShare) as Behaviour[]) judgeShare[b] = total === 0 ? 0 : judgeShare[b]! / total
  return { round, reputation, judgeShare }
}

function countBy<K extends string>(keys: readonly K[]): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {}
  for (const k of keys) out[k] = (out[k] ?? 0) + 1
  return out
}

/** Whether a judge of this behaviour marks an answer as no genuine attempt (`check`: the node's text check). */
function marksAgainst(behaviour: Behaviour, text: string, check: (text: string) => boolean): boolean {
  if (behaviour === 'colluder') return !text.includes(COLLUDER_MARK)
  return check(text)
}
