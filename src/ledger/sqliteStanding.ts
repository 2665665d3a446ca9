import type Database from 'better-sqlite3'
import type { LedgerRules } from './ledger.js'
import type { StandingSnapshot } from './standing.js'

type Row = Record<string, bigint | string | null>

/**
 * The SQLite ledger's standing at a head, read from its `standing`, `keys` and `accounts` tables
 * as they stood at that head's seq: what a round reads (`viewAt`) and `ledger serve` hands out.
 */
export class StandingQueries {
  constructor(
    private readonly sql: (text: string) => Database.Statement,
    private readonly rules: () => LedgerRules,
  ) {}

  /**
   * Everyone with standing at a head: nodes eligible then (a live key, a node account, at least the
   * minimum stake) with their judge weight and reputation, and registered gateways with their
   * deposit. What `ledger serve` hands to the network, once per head.
   */
  at(head: string): StandingSnapshot | undefined {
    const seq = this.seqOf(head)
    if (seq === undefined) return undefined
    const rows = this.sql(
      `SELECT k.key, a.kind, a.operator, s.stake, s.weight_micro, s.answer_ppm, s.answer_rounds FROM keys k JOIN accounts a ON a.id = k.account
         JOIN standing s ON s.account = a.id AND s.seq = (SELECT MAX(seq) FROM standing WHERE account = a.id AND seq <= ?)
       WHERE k.added <= ? AND (k.retired IS NULL OR k.retired > ?) AND a.kind IN ('node', 'gateway') ORDER BY k.key`,
    ).all(seq, seq, seq) as Row[]
    return { head, seq, ...this.standingRows(rows, seq), ...this.standingRules(seq) }
  }

  /** Governance moved the minimum stake at entry `seq`: the heads before keep `before`. */
  minStakeChanged(before: bigint, after: bigint, seq: number): void {
    this.sql('INSERT OR IGNORE INTO min_stakes (seq, amount) VALUES (0, ?)').run(before)
    this.sql('INSERT INTO min_stakes (seq, amount) VALUES (?, ?)').run(seq, after)
  }

  /** The minimum stake in force at entry `seq`. */
  private minStakeAt(seq: number): bigint {
    const r = this.sql('SELECT amount FROM min_stakes WHERE seq <= ? ORDER BY seq DESC LIMIT 1').get(seq) as Row | undefined
    return r === undefined ? this.rules().minStake : (r.amount as bigint)
  }

  /**
   * The standing at `head` as changes from the standing at `base` (an earlier head): the entries
   * of every account whose stake, weight, reputation or keys changed in between, and the keys that
   * no longer stand. A round changes a handful of accounts, so a node that knows one head learns
   * the next for the price of those, not of the whole network. Undefined when either head is
   * unknown or `base` is not earlier.
   */
  since(base: string, head: string): StandingSnapshot | undefined {
    const from = this.seqOf(base)
    const seq = this.seqOf(head)
    if (from === undefined || seq === undefined || from > seq) return undefined
    // A new minimum stake changes who stands without touching their rows: send the whole standing.
    if (this.sql('SELECT 1 FROM min_stakes WHERE seq > ? AND seq <= ? AND seq > 0').get(from, seq) !== undefined) return undefined
    const touched = this.sql(
      `SELECT account FROM standing WHERE seq > ? AND seq <= ?
       UNION SELECT account FROM keys WHERE (added > ? AND added <= ?) OR (retired > ? AND retired <= ?)`,
    ).all(from, seq, from, seq, from, seq) as Row[]
    const rows: Row[] = []
    const removed: string[] = []
    const keysOf = this.sql('SELECT key, added, retired FROM keys WHERE account = ? AND added <= ?')
    const standingOfKey = this.sql(
      `SELECT k.key, a.kind, a.operator, s.stake, s.weight_micro, s.answer_ppm, s.answer_rounds FROM keys k JOIN accounts a ON a.id = k.account
         JOIN standing s ON s.account = a.id AND s.seq = (SELECT MAX(seq) FROM standing WHERE account = a.id AND seq <= ?)
       WHERE k.key = ? AND a.kind IN ('node', 'gateway')`,
    )
    for (const { account } of touched) {
      for (const k of keysOf.all(account, seq) as Row[]) {
        const live = k.retired === null || (k.retired as bigint) > BigInt(seq)
        const r = live ? (standingOfKey.get(seq, k.key) as Row | undefined) : undefined
        if (r === undefined) removed.push(k.key as string)
        else rows.push(r)
      }
    }
    rows.sort((a, b) => ((a.key as string) < (b.key as string) ? -1 : 1))
    const standing = this.standingRows(rows, seq)
    const listed = new Set([...standing.nodes.map((n) => n[0]), ...standing.gateways.map((g) => g[0])])
    for (const r of rows) if (!listed.has(r.key as string)) removed.push(r.key as string)
    return { head, seq, base, ...standing, removed: removed.sort(), ...this.standingRules(seq) }
  }

  /** What a standing carries besides accounts: the oldest rules settled, and the newest beacon by then. */
  private standingRules(seq: number): Pick<StandingSnapshot, 'oldestRules' | 'beacon'> {
    const b = this.sql('SELECT chain, idx, value FROM beacons WHERE seq <= ? ORDER BY seq DESC LIMIT 1').get(seq) as Row | undefined
    return { oldestRules: this.rules().oldestRules, ...(b === undefined ? {} : { beacon: [Number(b.chain), Number(b.idx), b.value as string] }) }
  }

  seqOf(head: string): number | undefined {
    const row = this.sql('SELECT seq FROM log WHERE hash = ?').get(head) as Row | undefined
    return row === undefined ? undefined : Number(row.seq)
  }

  /** Standing rows as snapshot entries: every gateway; nodes with at least the minimum stake. */
  private standingRows(rows: Row[], seq: number): Pick<StandingSnapshot, 'nodes' | 'gateways' | 'operators'> {
    const minStake = this.minStakeAt(seq)
    const nodes: StandingSnapshot['nodes'] = []
    const gateways: StandingSnapshot['gateways'] = []
    const operators: [string, string][] = []
    for (const r of rows) {
      if (r.kind === 'gateway') gateways.push([r.key as string, String(r.stake)])
      else if ((r.stake as bigint) >= minStake) {
        nodes.push([r.key as string, Number(r.weight_micro), Number(r.answer_ppm), String(r.stake), Number(r.answer_rounds)])
        if (r.operator !== r.key) operators.push([r.key as string, r.operator as string])
      }
    }
    return { nodes, gateways, operators }
  }
}
