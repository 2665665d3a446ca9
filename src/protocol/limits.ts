/** Hard limits checked before anything else touches a message. */
export const PROTOCOL_VERSION = 1
export const MAX_ENVELOPE_BYTES = 256 * 1024
export const MAX_ANSWER_CHARS = 32 * 1024
export const MAX_MESSAGE_CHARS = 32 * 1024
export const MAX_CHAT_MESSAGES = 64
export const MAX_MEMBERS = 1024
export const MAX_JOINS = 4 * MAX_MEMBERS
export const MAX_VERDICTS_PER_JUDGE = 2048
export const MAX_DOMAINS = 16
/** The most operator accounts a Query may restrict its round to. */
export const MAX_OPERATORS = 16
/** Basis points: probabilities and shares travel as integers in 0..10 000. */
export const BP = 10_000
/** Scores in a signed Result are log-strengths in micro-units. */
export const SCORE_SCALE = 1_000_000

/** The gossip topic every round's Query is published on. */
export const QUERY_TOPIC = 'chorus/v1/queries'
/** The gossip topic nodes report their state on (gateways listen). */
export const STATUS_TOPIC = 'chorus/v1/status'
/** The `round` field of messages that belong to no round (NodeStatus). */
export const STATUS_ROUND = '0'.repeat(64)

/**
 * The fewest members a round runs with, in-process and over the network alike: with fewer than
 * three answers nobody can judge a pair without owning one of its answers.
 */
export const MIN_MEMBERS = 3
/**
 * How many rounds a gateway runs at once by default, and how many a node holds per coordinator by
 * default: twice as many, since a node can hear a gateway's next Query before the Result of the
 * round it replaces. These agree so a gateway under load never finds its nodes full.
 */
export const GATEWAY_ROUNDS = 4
export const ROUNDS_PER_COORDINATOR = 2 * GATEWAY_ROUNDS
/** A node's default capacity: room for two gateways at full load. */
export const NODE_CAPACITY = 2 * ROUNDS_PER_COORDINATOR

/** The most tokens one member may report for its answer or its verdicts in one round. */
export const MAX_TOKENS_REPORTED = 10_000_000

/** The most tokens a client may ask each member's answer to run to (`max_tokens`). */
export const MAX_SAMPLED_TOKENS = 131_072
/** The integers a verdict may carry of its judge's tool evidence (verdict `e`). */
export const MAX_EVIDENCE = 16
/** Stop sequences a client may give (OpenAI's limit), and the longest. */
export const MAX_STOPS = 4
export const MAX_STOP_CHARS = 64
