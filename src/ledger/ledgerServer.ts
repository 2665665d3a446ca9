import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { BoundedMap } from '../runtime/boundedMap.js'
import { type RateLimit, RateLimiter } from '../runtime/rateLimiter.js'
import { accountToJson, ERROR_STATUS, receiptToJson } from './accountJson.js'
import { parseAmount } from './amount.js'
import { BEACON_PHASES, type BeaconPhase } from '../round/beacons.js'
import { checkCharge } from './charge.js'
import { checkCreditOrder } from './creditOrder.js'
import { type BatchDomain, type ProposalStore, proposalToJson, toJson, withSignature } from './evm/proposal.js'
import { LedgerError, type LogEntry, type PendingSettlement } from './ledger.js'
import { MAX_LOCKS_PER_ENTRY, MAX_SETTLEMENTS_PER_WRITE, WriteGatherer } from './writeGatherer.js'
import type { SqliteLedger } from './sqliteLedger.js'

/**
 * `chorus ledger serve`: one ledger for a network's nodes and gateways, over HTTP. Reads are open
 * (the ledger is public: anyone may replay it). Every write is authenticated by what it carries:
 * an account's request by that account's key, a settlement by the round's signed transcript (and
 * its charge by the round's coordinator), a faucet credit by the ledger operator's key. Writes are
 * rate-limited per client address and bodies are bounded; a refused write changes nothing and
 * says why, with a stable code.
 */
export interface LedgerServerOptions {
  ledger: SqliteLedger
  /** Writes per second per client address (default 50, bursts of 200). */
  writes?: RateLimit
  /** Reads per second per client address (default 500, bursts of 2 000). */
  reads?: RateLimit
  /** Ticket locks per second per client address (default 1 000, bursts of 4 000). */
  locks?: RateLimit
  /** The largest request body (default 8 MiB: a transcript of the largest round fits). */
  bodyLimitBytes?: number
  /**
   * Anchored on a custody chain: the batch proposal verifiers fetch and sign (ledger/evm), and
   * the domain their signatures must be over.
   */
  proposals?: { store: ProposalStore; domain: BatchDomain; isVerifier: (address: string) => Promise<boolean> }
  now?: () => number
}

const CREDIT_WINDOW_MS = 60_000
const LOG_PAGE_BYTES = 4 * 1024 * 1024
const HEX64 = /^[0-9a-f]{64}$/

export function createLedgerServer(opts: LedgerServerOptions): FastifyInstance {
  const { ledger } = opts
  const now = opts.now ?? Date.now
  const app = Fastify({ logger: false, bodyLimit: opts.bodyLimitBytes ?? 8 * 1024 * 1024, forceCloseConnections: true, requestTimeout: 30_000 })
  const writes = new RateLimiter(opts.writes ?? { ratePerS: 50, burst: 200 })
  const reads = new RateLimiter(opts.reads ?? { ratePerS: 500, burst: 2_000 })
  const locks = new RateLimiter(opts.locks ?? { ratePerS: 1_000, burst: 4_000 })
  /** Credit orders already applied, until their window closes. */
  const credited = new BoundedMap<string, number>(10_000)
  const operator = ledger.operatorId()!
  // A write is answered once it is on disk (walSync.ts), except a ticket lock: it moves no money,
  // and the members beacon that names it waits for the sync that covers it.
  const durable = <T>(answer: T): Promise<T> => ledger.synced().then(() => answer)

  const refuse = (reply: FastifyReply, status: number, code: string, message: string) => reply.code(status).send({ error: { code, message } })
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof LedgerError) return refuse(reply, ERROR_STATUS[err.code], err.code, err.message)
    if (err.statusCode === 413) return refuse(reply, 413, 'TOO_LARGE', 'the request body is too large')
    if (err.statusCode === 429) return refuse(reply, 429, 'RATE_LIMITED', err.message)
    if (err.statusCode !== undefined && err.statusCode < 500) return refuse(reply, 400, 'BAD_REQUEST', err.message)
    return refuse(reply, 500, 'INTERNAL', 'internal error')
  })
  app.setNotFoundHandler((req, reply) => refuse(reply, 404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`))
  app.addHook('onRequest', async (req) => {
    const limiter = req.method === 'GET' ? reads : (req.routeOptions.config as { limiter?: string } | undefined)?.limiter === 'locks' ? locks : writes
    const taken = limiter.take(req.ip)
    if (!taken.ok) throw Object.assign(new Error(`too many requests; retry in ${taken.retryAfterS} s`), { statusCode: 429 })
  })

  app.get('/v1/ledger', async () => {
    const head = ledger.head()
    const r = ledger.rules()
    return { operator, head, seq: ledger.snapshotAt(head)!.seq, rules: { ...r, minStake: r.minStake.toString() } }
  })
  // ?base=<head the reader knows>: the change from it, when the ledger can give one.
  app.get<{ Params: { head: string }; Querystring: { base?: string } }>('/v1/ledger/standing/:head', async (req, reply) => {
    const head = req.params.head === 'latest' ? ledger.head() : req.params.head
    if (!HEX64.test(head)) return refuse(reply, 404, 'UNKNOWN_HEAD', 'this ledger never had that head')
    const base = req.query.base
    const s = (typeof base === 'string' && HEX64.test(base) ? ledger.standingSince(base, head) : undefined) ?? ledger.snapshotAt(head)
    return s ?? refuse(reply, 404, 'UNKNOWN_HEAD', 'this ledger never had that head')
  })
  app.get<{ Params: { id: string } }>('/v1/ledger/accounts/:id', async (req, reply) => {
    const a = HEX64.test(req.params.id) ? ledger.account(req.params.id) : undefined
    return a === undefined ? refuse(reply, 404, 'UNKNOWN_ACCOUNT', 'no such account') : accountToJson(a)
  })
  app.get<{ Params: { key: string } }>('/v1/ledger/keys/:key', async (req, reply) => {
    const account = HEX64.test(req.params.key) ? ledger.accountOfKey(req.params.key) : undefined
    return account === undefined ? refuse(reply, 404, 'UNKNOWN_ACCOUNT', 'no account acts for that key') : { account }
  })
  app.get<{ Params: { client: string; gateway: string } }>('/v1/ledger/allowances/:client/:gateway', async (req) => {
    const { client, gateway } = req.params
    return { amount: HEX64.test(client) && HEX64.test(gateway) ? ledger.allowance(client, gateway).toString() : '0' }
  })
  app.get<{ Querystring: { from?: string; limit?: string } }>('/v1/ledger/log', async (req) => {
    const from = Math.max(1, Math.floor(Number(req.query.from ?? 1)) || 1)
    const limit = Math.min(500, Math.max(1, Math.floor(Number(req.query.limit ?? 100)) || 100))
    // Settlement entries hold whole transcripts: a page stops at about 4 MiB (always one entry).
    const page: LogEntry[] = []
    let bytes = 0
    for (const e of ledger.entries(from, limit)) {
      if (page.length > 0 && bytes + e.body.length > LOG_PAGE_BYTES) break
      page.push(e)
      bytes += e.body.length
    }
    return { entries: page }
  })

  app.post('/v1/ledger/requests', async (req) => {
    const e = ledger.submit(req.body as never)
    return durable({ seq: e.seq, hash: e.hash })
  })
  // Signatures are checked on the thread pool, many settlements at once; then one writer applies
  // those whose checks finished together, in one write.
  const settlements = new WriteGatherer((s: readonly PendingSettlement[]) => ledger.settleAll(s), MAX_SETTLEMENTS_PER_WRITE)
  app.post('/v1/ledger/settlements', async (req) => {
    const body = req.body as { transcript?: unknown; charge?: unknown }
    if (typeof body !== 'object' || body === null || !Array.isArray(body.transcript)) throw new LedgerError('BAD_REQUEST', 'a settlement is {transcript, charge?}')
    const charge = body.charge === undefined ? undefined : checkCharge(body.charge)
    const transcript = await ledger.prepare(body.transcript)
    return durable(receiptToJson(await settlements.submit(charge === undefined ? { transcript } : { transcript, charge })))
  })
  app.post('/v1/ledger/beacons', async (req) => durable(ledger.beacon(req.body)))
  // Proof of capability: a node's challenge (its tasks go to it alone; the log holds their
  // commitments until the grading reveals them), and the grading of its signed verdicts.
  app.post('/v1/ledger/calibration', async (req) => durable(ledger.calibrationChallenge(req.body)))
  app.post('/v1/ledger/calibration/answers', async (req) => durable(ledger.answerCalibration(req.body)))
  // Hidden calibration rounds: a gateway's item (the question only), and its report of the round.
  app.post('/v1/ledger/calibration/items', async (req) => durable(ledger.hiddenItem(req.body)))
  app.post('/v1/ledger/calibration/reveals', async (req) => durable(ledger.revealHiddenRound(req.body)))
  // Every member of every round locks here (rules 3), many from one address on a devnet: its own,
  // wider limit. The Join's signature authenticates it; the node's free stake bounds its locks.
  const lockWrites = new WriteGatherer((r: readonly unknown[]) => ledger.lockTickets(r), MAX_LOCKS_PER_ENTRY)
  app.post('/v1/ledger/locks', { config: { limiter: 'locks' } }, async (req) => lockWrites.submit(req.body))
  app.get<{ Params: { round: string; phase: string } }>('/v1/ledger/beacons/:round/:phase', async (req, reply) => {
    const { round, phase } = req.params
    const issued = HEX64.test(round) && BEACON_PHASES.includes(phase as BeaconPhase) ? ledger.beaconOf(round, phase as BeaconPhase) : undefined
    return issued ?? refuse(reply, 404, 'NOT_FOUND', 'no beacon was issued for that round and phase')
  })
  const proposals = opts.proposals
  let signing: Promise<unknown> = Promise.resolve()
  if (proposals !== undefined) {
    app.get('/v1/ledger/batches/proposal', async (_req, reply) => {
      const p = await proposals.store.read()
      return p === undefined ? refuse(reply, 404, 'NOT_FOUND', 'no batch is proposed now') : reply.type('application/json').send(proposalToJson(p))
    })
    // The newest posted batches' headers: what the log is anchored by, for dashboards and verifiers.
    app.get<{ Querystring: { limit?: string } }>('/v1/ledger/batches', async (req, reply) => {
      const limit = Math.min(Math.max(Number(req.query.limit ?? 20) || 20, 1), 100)
      const found = await Promise.all((await proposals.store.latest(limit)).map((i) => proposals.store.published(i)))
      return reply.type('application/json').send(toJson(found.flatMap((b) => (b === undefined ? [] : [b.header]))))
    })
    // Every posted batch's body stays published, so anyone can check it and dispute it.
    app.get<{ Params: { index: string } }>('/v1/ledger/batches/:index', async (req, reply) => {
      const published = /^\d{1,18}$/.test(req.params.index) ? await proposals.store.published(BigInt(req.params.index)) : undefined
      return published === undefined ? refuse(reply, 404, 'NOT_FOUND', 'no such batch is published here') : reply.type('application/json').send(toJson(published))
    })
    // Checked here (the signature must recover to its signer over this very header); whether the
    // signer is an active verifier is the chain's to say when the batch is posted.
    app.post('/v1/ledger/batches/proposal/signatures', async (req) => {
      // One signature at a time: two read at once would each write the proposal without the other's.
      const taking = signing.then(async () => {
        const p = await proposals.store.read()
        if (p === undefined) throw new LedgerError('NOT_YET', 'no batch is proposed now')
        const signed = await withSignature(p, req.body as Record<string, unknown>, proposals.domain).catch((err: Error) => {
          throw new LedgerError('BAD_SIGNATURE', err.message)
        })
        // Anyone can sign a header; only an active verifier's signature counts, and a stranger's
        // would make the posting fail on the chain.
        const signer = signed.signatures.at(-1)!.signer
        if (!(await proposals.isVerifier(signer))) throw new LedgerError('BAD_SIGNATURE', `${signer} is not an active verifier of the rollup`)
        await proposals.store.write(signed)
        return { signatures: signed.signatures.length }
      })
      signing = taking.catch(() => undefined)
      return taking
    })
  }
  app.post('/v1/ledger/credits', async (req) => {
    const order = checkCreditOrder(req.body, operator)
    const t = now()
    if (Math.abs(t - order.at) > CREDIT_WINDOW_MS) throw new LedgerError('NOT_YET', 'a credit order must be used within a minute of when it was signed')
    if (credited.has(order.sig)) throw new LedgerError('BAD_NONCE', 'this credit order was applied already')
    const e = ledger.credit(order.account, parseAmount(order.amount))
    credited.set(order.sig, order.at)
    return durable({ seq: e.seq, hash: e.hash })
  })
  return app
}
