import type Database from 'better-sqlite3'
import { hashParts } from '../crypto/hash.js'
import { isLowerHex } from '../crypto/hex.js'
import { type Identity, identitySeed } from '../crypto/identity.js'
import type { QueryBody } from '../protocol/messages.js'
import { BEACON_PHASES, type BeaconPhase, beaconStep } from '../round/beacons.js'
import { parseAmount } from './amount.js'
import { BeaconChain } from './beaconChain.js'
import type { BeaconIssue, BeaconRequest } from './beaconRequest.js'
import { LedgerError, type LedgerRules } from './ledger.js'
import type { TicketLocks } from './ticketLocks.js'

/**
 * The SQLite ledger's beacons (beaconChain.ts, beaconRequest.ts): the chain they are drawn from
 * (its state in `meta`; a `beacon-chain` entry publishes each chain's tip before any value is
 * used) and the beacon issued to each round and phase (`beacons`). A members beacon opens its round
 * (`open_rounds`: its fee owed from the gateway's deposit) and, rules 3 on, closes its joins.
 * Runs inside the ledger's transactions; what it needs of the rest of the ledger comes in.
 */
export interface BeaconLedger {
  sql(text: string): Database.Statement
  meta(key: string): string | undefined
  setMeta(key: string, value: string): void
  /** The writer's key (undefined while replaying: a replay issues nothing). */
  operator(): Identity | undefined
  rules(): LedgerRules
  accountOfKey(key: string): string | undefined
  mustBeGateway(key: string): void
  locks: TicketLocks
}

type Row = Record<string, bigint | string | null>
type Body = Record<string, unknown>

export class BeaconTable {
  /** The chain the writer issues from, built once per chain (its seed derives from the operator's key). */
  private chain: { n: number; chain: BeaconChain } | undefined

  constructor(private readonly l: BeaconLedger) {}

  of(round: string, phase: BeaconPhase): BeaconIssue | undefined {
    const r = this.l.sql('SELECT * FROM beacons WHERE round = ? AND phase = ?').get(round, phase) as Row | undefined
    if (r === undefined) return undefined
    const issue: BeaconIssue = { round, phase, seal: r.seal as string, coordinator: r.coordinator as string, chain: Number(r.chain), index: Number(r.idx), value: r.value as string, seq: Number(r.seq) }
    if (phase !== 'members') return issue
    const locks = this.l.locks.of(round)
    return locks.length === 0 ? issue : { ...issue, joins: locks.map((l) => JSON.parse(l.envelope) as unknown) }
  }

  /** The `beacon-chain` entry to write first, when no chain exists or the last is used up. */
  nextChain(): Body | undefined {
    const state = this.state()
    if (state !== undefined && state.index < state.length) return undefined
    const chain = (state?.chain ?? 0) + 1
    return { chain, length: this.l.rules().beaconChainLength, tip: this.writerChain(chain).tip }
  }

  /** The `beacon` entry that issues the chain's next value to a round's seal. */
  next(request: BeaconRequest, coordinator: string, query: QueryBody, seal: string): Body {
    const state = this.state()!
    const index = state.index + 1
    const value = this.writerChain(state.chain).value(index)
    // The members beacon opens the round: its fee is owed from here, settled or forfeited.
    const opens = request.phase === 'members' ? { fee: parseAmount(query.fee).toString(), expires: query.deadlines.verdictReveal + this.l.rules().settleWithinMs } : {}
    return { chain: state.chain, coordinator, index, phase: request.phase, round: request.round, seal, value, ...opens }
  }

  /** A new beacon chain starts only when none exists or the last is used up; its tip is public from here on. */
  applyChain(b: Body): void {
    const state = this.state()
    const chain = Number(b.chain)
    if (chain !== (state?.chain ?? 0) + 1 || (state !== undefined && state.index !== state.length)) throw new LedgerError('CORRUPT', 'a beacon chain started out of turn')
    if (typeof b.tip !== 'string' || !isLowerHex(b.tip, 64) || !Number.isSafeInteger(b.length) || (b.length as number) < 1) throw new LedgerError('CORRUPT', 'a malformed beacon chain')
    this.l.setMeta('beacon_chain', String(chain))
    this.l.setMeta('beacon_length', String(b.length))
    this.l.setMeta('beacon_index', '0')
    this.l.setMeta('beacon_last', b.tip)
  }

  /** A beacon is the next value of the current chain (it hashes to the one before), once per (round, phase), to a registered gateway. */
  apply(b: Body, seq: number): void {
    const state = this.state()
    if (state === undefined || Number(b.chain) !== state.chain || Number(b.index) !== state.index + 1 || state.index >= state.length) throw new LedgerError('CORRUPT', "a beacon out of its chain's order")
    if (typeof b.value !== 'string' || !isLowerHex(b.value, 64) || beaconStep(b.value) !== state.last) throw new LedgerError('CORRUPT', 'a beacon that does not hash to the one before it')
    if (!BEACON_PHASES.includes(b.phase as BeaconPhase) || typeof b.round !== 'string' || !isLowerHex(b.round, 64) || typeof b.seal !== 'string' || !isLowerHex(b.seal, 64)) throw new LedgerError('CORRUPT', 'a malformed beacon')
    if (this.of(b.round, b.phase as BeaconPhase) !== undefined) throw new LedgerError('CORRUPT', 'a second beacon for one round and phase')
    this.l.mustBeGateway(String(b.coordinator))
    this.l.sql('INSERT INTO beacons (round, phase, seal, coordinator, chain, idx, value, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(b.round, b.phase, b.seal, b.coordinator, state.chain, state.index + 1, b.value, seq)
    if (b.phase === 'members') this.open(b)
    this.l.setMeta('beacon_index', String(state.index + 1))
    this.l.setMeta('beacon_last', b.value)
  }

  /** A members beacon opens its round: its fee is owed from the deposit until it settles or expires. */
  private open(b: Body): void {
    if (!Number.isSafeInteger(b.expires)) throw new LedgerError('CORRUPT', 'a members beacon without the time its round expires')
    const gateway = this.l.accountOfKey(String(b.coordinator))!
    const fee = parseAmount(String(b.fee))
    // A round the ledger holds open pays for it: free rounds would let a gateway open them without bound.
    if (fee === 0n) throw new LedgerError('BAD_REQUEST', 'a round that takes beacons pays a fee above 0')
    // Every open round's fee is owed from the deposit: a gateway opens no more than it can pay for.
    const owed = (this.l.sql('SELECT COALESCE(SUM(fee), 0) AS owed FROM open_rounds WHERE gateway = ?').get(gateway) as Row).owed as bigint
    const deposit = (this.l.sql('SELECT stake FROM accounts WHERE id = ?').get(gateway) as Row).stake as bigint
    if (owed + fee > deposit) throw new LedgerError('INSUFFICIENT_FUNDS', `the gateway's deposit ${deposit} does not cover this round's fee ${fee} beside the ${owed} its open rounds owe`)
    if (b.joins !== undefined) this.l.locks.close(String(b.round), String(b.seal), Number(b.joins), String(b.value))
    this.l.sql('INSERT INTO open_rounds (round, gateway, fee, expires) VALUES (?, ?, ?, ?)').run(b.round, gateway, fee, b.expires)
  }

  /** The current chain: its number, length, the last index issued and its value (the tip at 0). */
  private state(): { chain: number; length: number; index: number; last: string } | undefined {
    const chain = this.l.meta('beacon_chain')
    if (chain === undefined) return undefined
    return { chain: Number(chain), length: Number(this.l.meta('beacon_length')), index: Number(this.l.meta('beacon_index')), last: this.l.meta('beacon_last')! }
  }

  private writerChain(n: number): BeaconChain {
    if (this.chain?.n !== n) {
      const seed = hashParts('beacon-seed', identitySeed(this.l.operator()!).toString('hex'), String(n))
      this.chain = { n, chain: new BeaconChain(seed, this.l.rules().beaconChainLength) }
    }
    return this.chain.chain
  }
}
