import {
  BP,
  MAX_ANSWER_CHARS,
  MAX_CHAT_MESSAGES,
  MAX_DOMAINS,
  MAX_EVIDENCE,
  MAX_JOINS,
  MAX_MEMBERS,
  MAX_MESSAGE_CHARS,
  MAX_OPERATORS,
  MAX_TOKENS_REPORTED,
  MAX_VERDICTS_PER_JUDGE,
  MAX_SAMPLED_TOKENS,
  MAX_STOP_CHARS,
  MAX_STOPS,
} from './limits.js'
import { amount, arr, bool, type Check, hex32, int, nodeId, obj, oneOf, optional, packedHex, str } from './schema.js'
import { SEAL_ENTRY_CHARS } from './seal.js'

/**
 * Every message body of a round (DESIGN.md §3–§4), its schema, and its type. Bodies carry no
 * floats: probabilities are basis points, scores micro-units, amounts decimal strings.
 */
const time = int(0, Number.MAX_SAFE_INTEGER)
const count = int(0, Number.MAX_SAFE_INTEGER)
/** Sealed references to member messages (who sent each, and its envelope's hash), packed: seal.ts. */
const sealList = (max: number) => packedHex(SEAL_ENTRY_CHARS, max)

/** The rules version the round runs by and every parameter its outcome depends on (rulesVersions.ts). */
const rules = obj({
  maxJudgeShareBp: int(1, BP),
  minRanked: int(1, MAX_MEMBERS),
  prefilter: optional(int(0, 1)),
  priorMilli: int(1, 1_000_000),
  sealGraceMs: int(0, 3_600_000),
  supportBp: int(0, BP),
  supportByRank: optional(int(0, 1)),
  supportFloor: optional(int(0, 1)),
  supportRounds: optional(int(1, 1_000_000)),
  version: int(1, 65_535),
  zMilli: int(1, 100_000),
})

const chatMessages = arr(obj({ role: oneOf('system', 'user', 'assistant'), content: str(MAX_MESSAGE_CHARS) }), MAX_CHAT_MESSAGES)

const query = obj({
  coordSeq: int(0, Number.MAX_SAFE_INTEGER),
  /**
   * The coordSeq of this coordinator's first round since it last started. Its rounds with a lower
   * sequence are void: the process that ran them is gone, and members drop them at once instead of
   * waiting for their deadlines (a restarted gateway would otherwise find every node still full).
   */
  since: int(0, Number.MAX_SAFE_INTEGER),
  ledgerHead: hex32,
  c0: hex32,
  /** The conversation to answer; empty in a private round, whose prompt goes only to its members. */
  messages: chatMessages,
  /**
   * A private round: what is broadcast of its prompt, H(salt ‖ messages) and its length in
   * characters. The coordinator sends the messages and the salt in a signed `Prompt` to the members
   * it seats, and to no one else; every other node on the topic sees only the hash, the size, the
   * fee and the domain tags.
   */
  prompt: optional(obj({ hash: hex32, chars: int(0, MAX_CHAT_MESSAGES * MAX_MESSAGE_CHARS) })),
  domains: arr(str(64), MAX_DOMAINS),
  /**
   * Only nodes of these operator accounts may join (the client's `chorus.operators`), sorted and
   * unique; absent: every operator's. Read from the ledger standing the Query names.
   */
  operators: optional(arr(hex32, MAX_OPERATORS)),
  minMembers: int(1, MAX_MEMBERS),
  maxMembers: int(1, MAX_MEMBERS),
  deadlines: obj({ join: time, commit: time, reveal: time, verdictCommit: time, verdictReveal: time }),
  fee: amount,
  ticket: amount,
  minReputation: int(0, BP),
  issuedAt: time,
  rules,
  /**
   * How replies are read and grouped (consensus/answerTypes.ts): the answer type and which stated
   * answer counts. Absent in rounds signed before answer types, which group as they did (replyKey).
   */
  answer: optional(obj({ type: oneOf('number', 'choice', 'literal', 'short', 'free', 'auto'), marker: oneOf('first', 'last') })),
  /**
   * How members sample their answers, as the client asked (the API's temperature, top_p,
   * max_tokens, seed, stop): integers only, so temperature and top_p in thousandths. Judging is
   * not sampled: judges compare at temperature 0.
   */
  sampling: optional(
    obj({
      temperatureMilli: optional(int(0, 2_000)),
      topPMilli: optional(int(1, 1_000)),
      maxTokens: optional(int(1, MAX_SAMPLED_TOKENS)),
      seed: optional(int(0, 2_147_483_647)),
      stop: optional(arr(str(MAX_STOP_CHARS), MAX_STOPS)),
    }),
  ),
})

const verdict = obj({
  a: nodeId,
  b: nodeId,
  /** A: first better, B: second better, T: tie, U: abstained (unparseable or refused). */
  v: oneOf('A', 'B', 'T', 'U'),
  /** P(first better) in basis points, or -1 where the judge gave no probability. */
  p: int(-1, BP),
  /**
   * What the judge's tools found on the pair, as integers (node/tools: the maths checker's claims
   * checked, claims wrong and whether the answer follows, for the first answer then the second).
   * Absent where the judge ran no tool. Informational: the outcome reads `v` alone.
   */
  e: optional(arr(int(-1, 1_000_000), MAX_EVIDENCE)),
  /**
   * The GOOD/BAD prefilter (rules 4 on): 1 marks the first answer not a genuine attempt, 2 the
   * second, 3 both; absent where the judge found both genuine (0 is not written, so a verdict has
   * one encoding).
   */
  g: optional(int(1, 3)),
})

/**
 * The tokens a member's model spent on its answer or its verdicts, as its backend reported them
 * (0 where it does not say). The member signs them; the gateway prices a request from them.
 */
const tokens = obj({ prompt: int(0, MAX_TOKENS_REPORTED), completion: int(0, MAX_TOKENS_REPORTED) })

/** A beacon as a seal quotes it: its place in the ledger's beacon chain and its value. */
const beacon = obj({ chain: int(1, Number.MAX_SAFE_INTEGER), index: int(1, Number.MAX_SAFE_INTEGER), value: hex32 })

/** Tokens as members report them (and backends tell them per call). */
export interface TokenCount {
  prompt: number
  completion: number
}

export const BODY_SCHEMAS = {
  Query: query,
  Join: obj({ ticket: amount }),
  /** `beacon` (rules 2 on): the ledger's beacon for the sealed joiner set, which keyed the selection. */
  Members: obj({ joins: sealList(MAX_JOINS), at: time, beacon: optional(beacon) }),
  /** A private round's prompt, sent to its members right after Members; opens the Query's `prompt` hash. */
  Prompt: obj({ messages: chatMessages, salt: hex32 }),
  AnswerCommit: obj({ c: hex32 }),
  CommitsSealed: obj({ commits: sealList(MAX_MEMBERS), r0: hex32, at: time }),
  AnswerReveal: obj({ answer: str(MAX_ANSWER_CHARS), salt: hex32, usage: tokens }),
  /** `beacon` (rules 2 on): the ledger's beacon for CommitsSealed, which keys the judge assignment. */
  RevealsSealed: obj({ reveals: sealList(MAX_MEMBERS), at: time, beacon: optional(beacon) }),
  VerdictCommit: obj({ c: hex32 }),
  VerdictCommitsSealed: obj({ commits: sealList(MAX_MEMBERS), at: time }),
  VerdictReveal: obj({ verdicts: arr(verdict, MAX_VERDICTS_PER_JUDGE), salt: hex32, usage: tokens }),
  VerdictsSealed: obj({ reveals: sealList(MAX_MEMBERS), at: time }),
  /**
   * How a round ended, for every member still in it: 'done' with the hash of the signed Result
   * (the transcript and the Result itself stay with the coordinator, for anyone to fetch and
   * check), or the reason the coordinator gave up, with `result` all zeros. Small on purpose: every
   * member receives it, so a copy of the Result (a score per answer) would cost the swarm the
   * square of its size.
   */
  /** `winner` (a finished round): whose answer the Result chose, so a member knows whether it won without the Result itself. */
  RoundEnded: obj({ reason: oneOf('done', 'no-members', 'no-answers', 'late', 'no-beacon', 'cancelled', 'stopped'), result: hex32, at: time, winner: optional(nodeId) }),
  /**
   * A node's own report of its state, gossiped to gateways (GET /v1/nodes shows it). Sent with the
   * round STATUS_ROUND and a seq that grows with time, so a gateway keeps only the newest.
   */
  NodeStatus: obj({
    backend: str(200),
    capacity: int(0, 1_000_000),
    perCoordinator: int(0, 1_000_000),
    active: int(0, 1_000_000),
    declined: obj({
      capacity: count,
      coordinator: count,
      deposit: count,
      expired: count,
      fee: count,
      horizon: count,
      ineligible: count,
      ledger: count,
      notAllowed: count,
      policy: count,
      rules: count,
      stake: count,
      unregistered: count,
    }),
    rejected: count,
    /** The domain tags the node joins rounds for (none: every round); absent from older nodes. */
    domains: optional(arr(str(64), MAX_DOMAINS)),
    at: time,
  }),
  Result: obj({
    root: hex32,
    ranked: bool,
    winner: nodeId,
    separated: bool,
    scores: arr(
      obj({
        node: nodeId,
        score: int(-1e15, 1e15),
        theta: int(-1e15, 1e15),
        lo: int(-1e15, 1e15),
        hi: int(-1e15, 1e15),
        support: int(1, MAX_MEMBERS),
      }),
      MAX_MEMBERS,
    ),
    at: time,
  }),
} satisfies Record<string, Check<unknown>>

export type MessageType = keyof typeof BODY_SCHEMAS
export type BodyOf<T extends MessageType> = ReturnType<(typeof BODY_SCHEMAS)[T]>
export type QueryBody = BodyOf<'Query'>
export type Verdict = ReturnType<typeof verdict>
export type VerdictValue = Verdict['v']
export type ResultBody = BodyOf<'Result'>
export type RoundEndReason = BodyOf<'RoundEnded'>['reason']
export type NodeStatusBody = BodyOf<'NodeStatus'>
export type ChatMessage = QueryBody['messages'][number]

/** Messages a coordinator signs; all others come from members. */
export const COORDINATOR_TYPES: ReadonlySet<MessageType> = new Set([
  'Query',
  'Members',
  'Prompt',
  'CommitsSealed',
  'RevealsSealed',
  'VerdictCommitsSealed',
  'VerdictsSealed',
  'Result',
  'RoundEnded',
])

export function isMessageType(t: unknown): t is MessageType {
  return typeof t === 'string' && Object.hasOwn(BODY_SCHEMAS, t)
}
