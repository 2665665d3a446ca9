import type { LedgerView } from '../round/ledgerView.js'
import type { Micro } from './amount.js'

/**
 * What a node or gateway reads from the ledger at one head: the round's view (who may join, how
 * much each judge weighs) plus who may coordinate (registered gateways and their deposits). A
 * `StandingSnapshot` is the same thing as data, so a ledger served over HTTP hands it out once per
 * head and every reader builds the identical view from it.
 */
export interface Standing extends LedgerView {
  /** The log position of the head. */
  readonly seq: number
  /** A registered gateway's deposit at this head; undefined for a key that is not a gateway's. */
  deposit(gateway: string): Micro | undefined
  /** A node's answerer reputation (EMA of normalised rank, ppm); undefined when not eligible. */
  reputationPpm(node: string): number | undefined
  /** A node's stake, from which its tickets are locked; undefined when not eligible. */
  stake(node: string): Micro | undefined
  /** How many ranked rounds a node has answered; undefined when not eligible. */
  answerRounds(node: string): number | undefined
  /** The oldest rules version the ledger settles: a node serves no round by older rules. */
  readonly oldestRules: number
  /** The operator account an eligible node belongs to (its own key's account when it has none). */
  operatorOf(node: string): string | undefined
}

export interface StandingSnapshot {
  head: string
  seq: number
  /**
   * Set when this is the change from the standing at `base`: `nodes` and `gateways` then list only
   * entries that changed, and `removed` the keys that no longer stand (`mergeSnapshot`).
   */
  base?: string
  removed?: string[]
  /**
   * Eligible nodes: [key, judge weight in micro-units, answerer reputation in ppm, stake in
   * micro-units, ranked rounds answered], sorted.
   */
  nodes: [string, number, number, string, number][]
  /** Registered gateways: [key, deposit in micro-units as a decimal string], sorted. */
  gateways: [string, string][]
  /**
   * Eligible nodes whose operator account is not the key itself: [key, operator account], sorted
   * (a node with none listed is its own operator). Absent from ledgers before operators counted.
   */
  operators?: [string, string][]
  /** The oldest rules version whose rounds the ledger settles (its genesis rule; 1 when absent). */
  oldestRules?: number
  /** The newest beacon issued by this head: [chain, index, value] (none before the first). */
  beacon?: [number, number, string]
}

/** The standing at a change's head, from the standing at its base. */
export function mergeSnapshot(base: StandingSnapshot, change: StandingSnapshot): StandingSnapshot {
  if (change.base !== base.head) throw new Error('a standing change applied to the wrong base')
  const gone = new Set([...(change.removed ?? []), ...change.nodes.map((n) => n[0]), ...change.gateways.map((g) => g[0])])
  const byKey = <T extends [string, ...unknown[]]>(a: T, b: T) => (a[0] < b[0] ? -1 : 1)
  return {
    head: change.head,
    seq: change.seq,
    ...(change.oldestRules ?? base.oldestRules ? { oldestRules: change.oldestRules ?? base.oldestRules } : {}),
    ...(change.beacon ?? base.beacon ? { beacon: change.beacon ?? base.beacon } : {}),
    nodes: [...base.nodes.filter((n) => !gone.has(n[0])), ...change.nodes].sort(byKey),
    gateways: [...base.gateways.filter((g) => !gone.has(g[0])), ...change.gateways].sort(byKey),
    operators: [...(base.operators ?? []).filter((o) => !gone.has(o[0])), ...(change.operators ?? [])].sort(byKey),
  }
}

export function standingOf(s: StandingSnapshot): Standing {
  const beacon = s.beacon ? { chain: s.beacon[0], index: s.beacon[1], value: s.beacon[2] } : undefined
  const nodes = new Map(s.nodes.map(([id, w, r, stake, rounds]) => [id, { weight: w / 1e6, rep: r, stake: BigInt(stake), rounds }]))
  const gateways = new Map(s.gateways.map(([id, d]) => [id, BigInt(d)]))
  const operators = new Map(s.operators ?? [])
  return {
    seq: s.seq,
    oldestRules: s.oldestRules ?? 1,
    head: () => s.head,
    ...(beacon ? { beaconAtHead: () => beacon } : {}),
    eligible: (node) => nodes.has(node),
    judgeWeight: (node) => nodes.get(node)?.weight ?? 0,
    deposit: (gateway) => gateways.get(gateway),
    reputationPpm: (node) => nodes.get(node)?.rep,
    stake: (node) => nodes.get(node)?.stake,
    answerRounds: (node) => nodes.get(node)?.rounds,
    operatorOf: (node) => (nodes.has(node) ? (operators.get(node) ?? node) : undefined),
  }
}

/** Checks a snapshot that came over the network before anything reads it. */
export function parseSnapshot(raw: unknown): StandingSnapshot {
  const s = raw as StandingSnapshot
  const hex64 = (x: unknown) => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x)
  const ok =
    typeof s === 'object' &&
    s !== null &&
    hex64(s.head) &&
    Number.isSafeInteger(s.seq) &&
    Array.isArray(s.nodes) &&
    Array.isArray(s.gateways) &&
    s.nodes.every((n) => Array.isArray(n) && n.length === 5 && hex64(n[0]) && Number.isSafeInteger(n[1]) && n[1] >= 0 && Number.isSafeInteger(n[2]) && typeof n[3] === 'string' && /^\d{1,30}$/.test(n[3]) && Number.isSafeInteger(n[4]) && n[4] >= 0) &&
    s.gateways.every((g) => Array.isArray(g) && g.length === 2 && hex64(g[0]) && typeof g[1] === 'string' && /^\d{1,30}$/.test(g[1])) &&
    (s.base === undefined || (hex64(s.base) && Array.isArray(s.removed) && s.removed.every(hex64))) &&
    (s.operators === undefined || (Array.isArray(s.operators) && s.operators.every((o) => Array.isArray(o) && o.length === 2 && hex64(o[0]) && hex64(o[1])))) &&
    (s.oldestRules === undefined || (Number.isSafeInteger(s.oldestRules) && s.oldestRules >= 1)) &&
    (s.beacon === undefined || (Array.isArray(s.beacon) && s.beacon.length === 3 && Number.isSafeInteger(s.beacon[0]) && Number.isSafeInteger(s.beacon[1]) && hex64(s.beacon[2])))
  if (!ok) throw new Error('the ledger sent a malformed standing snapshot')
  return s
}
