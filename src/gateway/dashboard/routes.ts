import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { parseTranscript } from '../../round/transcript.js'
import { TranscriptError } from '../../round/verify.js'
import type { Admission } from '../admission.js'
import { ApiError } from '../apiError.js'
import type { RoundStore, StoredRound } from '../roundStore.js'
import type { Swarm } from '../swarm.js'
import { DASHBOARD_CSP, DashboardAssets } from './assets.js'
import { concentration } from './concentration.js'
import type { DashboardLedger } from './dashboardLedger.js'
import { readEvalReports } from './evalReports.js'
import { latencyStats } from './latencyStats.js'
import type { LiveRounds } from './liveRounds.js'
import { nodeHealth } from './nodeHealth.js'
import { roundView } from './roundView.js'
import type { RoundPage } from './web/wire.js'

/**
 * The dashboard: the page at `/` and its files (public, like /healthz: they hold no data), and the
 * JSON it reads under /v1/dashboard (behind the API key like every /v1 route, and scoped to the
 * caller's own rounds as /v1/rounds is). Everything shown comes from the gateway's round store,
 * its live rounds, its nodes and its ledger; "verify" recomputes a stored round, never a URL.
 */
export interface DashboardDeps {
  swarm: Swarm
  store: RoundStore
  admission: Admission
  live: LiveRounds
  ledger: DashboardLedger
  /** Whether rounds run on a ledger (then a node it does not know is still joining). */
  metered: boolean
  /** Where `chorus eval` reports are kept (--reports); none: the quality page says how to add them. */
  reportsDir?: string
  ownerOf: (req: FastifyRequest) => string | undefined
}

const MAX_ROUNDS_LISTED = 1000
const REPORTS_FRESH_MS = 5_000

export function installDashboard(app: FastifyInstance, deps: DashboardDeps): void {
  const assets = new DashboardAssets()
  const open = { config: { public: true } }
  const secure = (reply: FastifyReply) =>
    reply.header('content-security-policy', DASHBOARD_CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('x-frame-options', 'DENY')

  app.get('/', open, async (_req, reply) => {
    const page = assets.shell()
    secure(reply).header('cache-control', 'no-cache')
    if (page === undefined) return reply.code(503).type('text/plain; charset=utf-8').send('The dashboard is not built: run npm run build. The API is at /v1.\n')
    return reply.type('text/html; charset=utf-8').send(page)
  })
  app.get<{ Params: { file: string } }>('/ui/:file', open, async (req, reply) => {
    const asset = assets.get(req.params.file)
    if (asset === undefined) throw new ApiError(404, 'not_found_error', `no dashboard file ${req.params.file}`, 'not_found')
    return secure(reply).header('cache-control', 'no-cache').type(asset.type).send(asset.body)
  })

  const now = () => Date.now()
  const rounds = (req: FastifyRequest, limit = MAX_ROUNDS_LISTED) => deps.store.recent(limit, now(), deps.ownerOf(req))

  app.get('/v1/dashboard/overview', async (req, reply) => {
    secure(reply)
    const nodes = await deps.swarm.nodes()
    const at = now()
    const health = { online: 0, joining: 0, unreachable: 0 }
    for (const n of nodes) health[nodeHealth(n, at, deps.metered)]++
    const kept = rounds(req)
    return {
      nodes: { total: nodes.length, ...health, needed: deps.swarm.minMembers },
      queue: queueOf(deps.admission),
      live: deps.live.list(deps.ownerOf(req)),
      rounds_kept: kept.length,
      latency: latencyStats(kept),
      recent: kept.slice(0, 10).map(roundRow),
    }
  })

  app.get('/v1/dashboard/nodes', async (_req, reply) => {
    secure(reply)
    const nodes = await deps.swarm.nodes()
    const at = now()
    // What each node earned and forfeited in the settled rounds this gateway keeps (settlements name nodes by key).
    const earned = new Map<string, bigint>()
    const forfeited = new Map<string, bigint>()
    for (const r of deps.store.recent(MAX_ROUNDS_LISTED, at)) {
      for (const [node, x] of Object.entries(r.settlement?.rewards ?? {})) earned.set(node, (earned.get(node) ?? 0n) + BigInt(x))
      for (const [node, x] of Object.entries(r.settlement?.forfeits ?? {})) forfeited.set(node, (forfeited.get(node) ?? 0n) + BigInt(x))
    }
    return {
      metered: deps.metered,
      nodes: nodes.map((n) => ({ ...n, health: nodeHealth(n, at, deps.metered), earned_micro: (earned.get(n.id) ?? 0n).toString(), forfeited_micro: (forfeited.get(n.id) ?? 0n).toString() })),
      judge_weight: concentration(deps.metered ? nodes.map((n) => n.ledger?.judgeWeight ?? 0) : nodes.map(() => 1)),
    }
  })

  app.get<{ Querystring: { limit?: string } }>('/v1/dashboard/rounds', async (req, reply) => {
    secure(reply)
    const limit = Math.min(Math.max(Number(req.query.limit ?? 100) || 100, 1), MAX_ROUNDS_LISTED)
    return { live: deps.live.list(deps.ownerOf(req)), recent: rounds(req, limit).map(roundRow), queue: queueOf(deps.admission) }
  })

  const stored = (req: FastifyRequest<{ Params: { id: string } }>) => {
    const s = deps.store.get(req.params.id, now(), deps.ownerOf(req))
    if (s === undefined) throw new ApiError(404, 'not_found_error', `no round ${req.params.id} of yours on this gateway (it keeps the most recent ones)`, 'round_not_found')
    return s
  }
  app.get<{ Params: { id: string } }>('/v1/dashboard/rounds/:id', async (req, reply) => {
    secure(reply)
    const s = stored(req)
    const view = roundView(JSON.parse(s.transcript).envelopes)
    const page: RoundPage = { ...view, finished_at: s.finishedAt, round_ms: Math.round(s.roundMs), charge_micro: s.chargeMicro, redacted: s.redacted ?? null, settlement: s.settlement ?? null }
    return page
  })
  app.post<{ Params: { id: string } }>('/v1/dashboard/rounds/:id/verify', async (req, reply) => {
    secure(reply)
    const s = stored(req)
    const t0 = performance.now()
    try {
      const v = await deps.ledger.verify(parseTranscript(s.transcript))
      return { valid: true, round: v.roundId, transcript_root: v.root, winner: v.outcome.winner, matches_stored: v.root === s.root && v.outcome.winner === s.winner, ms: Math.round(performance.now() - t0) }
    } catch (err) {
      if (err instanceof TranscriptError || (err as { code?: unknown }).code !== undefined) return { valid: false, round: s.round, reason: (err as Error).message, ms: Math.round(performance.now() - t0) }
      throw err
    }
  })

  app.get('/v1/dashboard/economics', async (req, reply) => {
    secure(reply)
    const nodes = await deps.swarm.nodes()
    const kept = rounds(req, 200)
    const log = await deps.ledger.log(25).catch((err: Error) => ({ error: err.message }))
    const sum = (xs: readonly string[]) => xs.reduce((s, x) => s + BigInt(x), 0n)
    const econ = kept.map((r) => ({
      round: r.round,
      finished_at: r.finishedAt,
      members: r.answers,
      fee_micro: r.feeMicro,
      ticket_micro: r.ticketMicro,
      charge_micro: r.chargeMicro,
      settled: r.settlement !== undefined,
      pool_micro: r.settlement?.pool ?? null,
      paid_micro: r.settlement ? sum(Object.values(r.settlement.rewards)).toString() : null,
      forfeited_micro: r.settlement ? sum(Object.values(r.settlement.forfeits)).toString() : null,
      forfeits: r.settlement ? Object.keys(r.settlement.forfeits).length : null,
    }))
    const settled = kept.filter((r) => r.settlement !== undefined)
    return {
      metered: deps.metered,
      rounds: econ,
      totals: {
        rounds: kept.length,
        settled: settled.length,
        charged_micro: sum(kept.map((r) => r.chargeMicro)).toString(),
        paid_micro: sum(settled.flatMap((r) => Object.values(r.settlement!.rewards))).toString(),
        forfeited_micro: sum(settled.flatMap((r) => Object.values(r.settlement!.forfeits))).toString(),
      },
      judge_weight: concentration(deps.metered ? nodes.map((n) => n.ledger?.judgeWeight ?? 0) : nodes.map(() => 1)),
      log: log ?? null,
    }
  })

  // The reports folder is read at most every few seconds, however often the page is asked for.
  let reportsRead: { at: number; reports: Promise<unknown> } | undefined
  const evalReports = () => {
    const dir = deps.reportsDir
    if (dir === undefined) return Promise.resolve(null)
    if (reportsRead === undefined || now() - reportsRead.at > REPORTS_FRESH_MS) {
      reportsRead = { at: now(), reports: readEvalReports(dir).catch((err: Error) => ({ dir, error: `cannot read the reports folder: ${err.message}` })) }
    }
    return reportsRead.reports
  }
  app.get('/v1/dashboard/quality', async (req, reply) => {
    secure(reply)
    return { latency: latencyStats(rounds(req)), queue: queueOf(deps.admission), reports: await evalReports() }
  })
}

function queueOf(a: Admission) {
  return { running: a.running, waiting: a.waiting }
}

function roundRow(s: StoredRound) {
  return {
    round: s.round,
    question: s.question,
    finished_at: s.finishedAt,
    round_ms: Math.round(s.roundMs),
    ranked: s.ranked,
    winner: s.winner,
    answers: s.answers,
    transcript_root: s.root,
    phases_ms: s.phases,
    settled: s.settlement !== undefined,
  }
}
