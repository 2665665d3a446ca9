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
/** Basis points: probabilities and shares travel as integers in 0..10 000. */
export const BP = 10_000
/** Scores in a signed Result are log-strengths in micro-units. */
export const SCORE_SCALE = 1_000_000

/** The gossip topic every round's Query is published on. */
export const QUERY_TOPIC = 'chorus/v1/queries'
