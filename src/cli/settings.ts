import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseCorsOrigins } from '../gateway/cors.js'
import { Redactor } from '../gateway/privacy/redaction.js'
import { dashboardLedger } from '../gateway/dashboard/dashboardLedger.js'
import type { LedgerClient } from '../ledger/networkLedger.js'
import { combineTools, NODE_TOOLS, type NodeTools } from '../node/tools/nodeTools.js'
import { SandboxUnavailableError } from '../node/tools/codeRunner.js'
import type { LevelWithSilent } from 'pino'
import { logLevel } from './logger.js'
import type { GatewayOptions } from '../gateway/httpApi.js'
import { DEFAULT_PRICING, DEFAULT_TERMS, type Pricing, type RoundTerms } from '../gateway/paymaster.js'
import { DEFAULT_STORE_LIMITS } from '../gateway/roundStore.js'
import { DEFAULT_CALIBRATION_RATE } from '../gateway/calibrationMixer.js'
import { type Micro, parseUnits } from '../ledger/amount.js'
import { DEFAULT_SETTLEMENT_RULES, FORFEIT_RULES, type ForfeitRule } from '../ledger/settlement.js'
import { DEFAULT_HORIZON_MS, DEFAULT_LIMITS, type ParticipationLimits } from '../node/participation.js'
import type { GovernorSettings } from '../node/loadGovernor.js'
import { GATEWAY_ROUNDS, NODE_CAPACITY, ROUNDS_PER_COORDINATOR } from '../protocol/limits.js'
import { phaseDurations as durationsFor } from '../gateway/coordinatorService.js'
import type { RateLimit } from '../runtime/rateLimiter.js'
import type { PhaseDurations } from '../round/coordinator.js'
import type { SettingTypes } from './jsonConfig.js'
import { ConfigError } from './modelSpec.js'

/**
 * Every setting more than one command takes, declared and checked once: the network options of
 * `chorus node` and `chorus gateway`, the API options of `chorus up` and `chorus gateway`, a node's
 * participation limits, and the phase durations every coordinator derives from --answer-seconds.
 * A flag wins over the config file; a value out of range is refused by name.
 */
export const NETWORK_OPTIONS = {
  key: { type: 'string' },
  listen: { type: 'string', multiple: true },
  bootstrap: { type: 'string', multiple: true },
  mdns: { type: 'boolean' },
  relay: { type: 'boolean' },
  config: { type: 'string' },
  'metrics-port': { type: 'string' },
  ledger: { type: 'string' },
} as const

export const NETWORK_SETTINGS: SettingTypes = {
  key: 'string',
  listen: 'strings',
  bootstrap: 'strings',
  mdns: 'boolean',
  relay: 'boolean',
  metricsPort: 'number',
  ledger: 'string',
}

/** Why the API could not listen, in words: a port in use, or one below 1024 without the privilege. */
export function listenProblem(code: string | undefined, host: string, port: number, message: string): string {
  if (code === 'EADDRINUSE') return `port ${port} on ${host} is in use (try --port 0)`
  if (code === 'EACCES') return `port ${port} on ${host} needs privileges this user lacks (ports below 1024 do; try --port ${DEFAULT_API_PORT})`
  if (code === 'EADDRNOTAVAIL') return `${host} is not an address of this machine (try --host 127.0.0.1)`
  return `cannot listen on ${host}:${port}: ${message}`
}

/** The API's port when none is given: not 8080, which llama-server (a backend it may use) takes. */
export const DEFAULT_API_PORT = 8420

export const API_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'api-key': { type: 'string', multiple: true },
  rate: { type: 'string' },
  burst: { type: 'string' },
  'answer-seconds': { type: 'string' },
  'max-rounds': { type: 'string' },
  fee: { type: 'string' },
  ticket: { type: 'string' },
  price: { type: 'string' },
  cut: { type: 'string' },
  'retention-hours': { type: 'string' },
  'calibration-rate': { type: 'string' },
  cors: { type: 'string', multiple: true },
  'log-level': { type: 'string' },
  reports: { type: 'string' },
  redact: { type: 'boolean' },
  'redact-pattern': { type: 'string', multiple: true },
  private: { type: 'boolean' },
} as const

/** The help lines of the API options that keep a request's content from the nodes (up and gateway). */
export const PRIVACY_HELP = `  --redact              replace e-mail addresses, phone, card and IBAN numbers in a request with
                        placeholders before its Query leaves the gateway, and put them back in the
                        answer (--redact-pattern <regex>, repeatable: your own patterns too)
  --private             broadcast only each prompt's salted hash and size (with the fee and domain
                        tags); the prompt goes to the members the round seats and to no other
                        node (a request may say chorus: {"private": false})`

export const API_SETTINGS: SettingTypes = {
  host: 'string',
  port: 'number',
  apiKeys: 'strings',
  ratePerSecond: 'number',
  burst: 'number',
  answerSeconds: 'number',
  maxRounds: 'number',
  fee: 'string',
  ticket: 'string',
  price: 'string',
  cut: 'number',
  retentionHours: 'number',
  calibrationRate: 'number',
  cors: 'strings',
  logLevel: 'string',
  reports: 'string',
  redact: 'boolean',
  redactPatterns: 'strings',
  private: 'boolean',
}

export const NODE_OPTIONS = {
  capacity: { type: 'string' },
  'per-gateway': { type: 'string' },
  'horizon-seconds': { type: 'string' },
  gateways: { type: 'string' },
  'min-fee': { type: 'string' },
  'max-load': { type: 'string' },
  'resume-load': { type: 'string' },
  'quiet-hours': { type: 'string' },
  'log-level': { type: 'string' },
} as const

export const NODE_SETTINGS: SettingTypes = {
  capacity: 'number',
  perGateway: 'number',
  horizonSeconds: 'number',
  gateways: 'strings',
  minFee: 'string',
  maxLoad: 'number',
  resumeLoad: 'number',
  quietHours: 'string',
  logLevel: 'string',
}

/** `--tools maths,code`: the tools a node runs around its model (node/tools); undefined: none. */
export function readTools(value: unknown): NodeTools | undefined {
  if (value === undefined) return undefined
  const names = String(value).split(',').map((n) => n.trim()).filter(Boolean)
  const unknown = names.find((n) => NODE_TOOLS[n] === undefined)
  if (names.length === 0 || unknown !== undefined) throw new ConfigError(`--tools takes ${Object.keys(NODE_TOOLS).join(', ')}, comma-separated (got ${String(value)})`)
  try {
    return combineTools(names.map((n) => NODE_TOOLS[n]!()))
  } catch (err) {
    if (err instanceof SandboxUnavailableError) throw new ConfigError(err.message)
    throw err
  }
}

export type Values = Record<string, string | boolean | string[] | undefined>
export type FileSettings = Record<string, unknown>

export interface ApiSettings {
  host: string
  port: number
  /** Operator keys (charged to the gateway, read every round). */
  apiKeys: string[]
  /** Client keys (`KEY=ACCOUNT`): charged to that ledger account, read only its rounds. */
  keyAccounts?: Map<string, string>
  /** With a ledger: what each Query offers and how requests are priced (defaults: paymaster.ts). */
  terms?: RoundTerms
  pricing?: Pricing
  /** How long the gateway keeps a round's transcript (with its prompt) at most. */
  retentionMs?: number
  rateLimit?: RateLimit
  answerSeconds: number
  /** Rounds the gateway runs at once. */
  maxRounds: number
  /** With a ledger: hidden calibration rounds per client request (calibrationMixer.ts; default 0.05). */
  calibrationRate?: number
  /** Origins browsers may call the API from (`--cors`; `*` for any). */
  corsOrigins?: string[]
  /** `--log-level` (logger.ts). */
  logLevel?: LevelWithSilent
  /** `--reports DIR`: the `chorus eval` reports the dashboard's quality page shows. */
  reportsDir?: string
  /** `--redact` (and `--redact-pattern`): personal data replaced before a Query leaves the gateway. */
  redactor?: Redactor
  /** `--private`: every Query broadcasts only its prompt's hash unless its request says otherwise. */
  privatePrompts?: boolean
}

/** The API options of `chorus up` and `chorus gateway`. */
export function readApiSettings(values: Values, file: FileSettings, env: NodeJS.ProcessEnv = process.env): ApiSettings {
  const rate = values.rate ?? file.ratePerSecond
  const ratePerS = rate === undefined ? undefined : number(rate, '--rate', (n) => n > 0 && n <= 1e6)
  const burstRaw = values.burst ?? file.burst
  if (burstRaw !== undefined && ratePerS === undefined) throw new ConfigError('--burst needs --rate')
  const burst = burstRaw === undefined ? undefined : number(burstRaw, '--burst', (n) => n >= 1 && n <= 1e6)
  const keys = [...((values['api-key'] as string[] | undefined) ?? []), ...((file.apiKeys as string[] | undefined) ?? []), ...(env.CHORUS_API_KEYS?.split(',') ?? [])]
    .map((k) => k.trim())
    .filter((k) => k !== '')
  const apiKeys: string[] = []
  const keyAccounts = new Map<string, string>()
  for (const k of keys) {
    const eq = k.lastIndexOf('=')
    if (eq < 0) apiKeys.push(k)
    else if (/^[0-9a-f]{64}$/.test(k.slice(eq + 1)) && eq > 0) keyAccounts.set(k.slice(0, eq), k.slice(eq + 1))
    else throw new ConfigError('--api-key KEY=ACCOUNT needs the client account id (64 hex characters) after the =')
  }
  const retention = values['retention-hours'] ?? file.retentionHours
  let corsOrigins: string[]
  try {
    corsOrigins = parseCorsOrigins([...((values.cors as string[] | undefined) ?? []), ...((file.cors as string[] | undefined) ?? [])])
  } catch (err) {
    throw new ConfigError((err as Error).message)
  }
  const patterns = [...((values['redact-pattern'] as string[] | undefined) ?? []), ...((file.redactPatterns as string[] | undefined) ?? [])].map((p) => {
    try {
      return new RegExp(p, 'g')
    } catch (err) {
      throw new ConfigError(`--redact-pattern ${p}: not a regular expression (${(err as Error).message})`)
    }
  })
  const redact = values.redact === true || file.redact === true || patterns.length > 0
  const reports = values.reports ?? file.reports
  if (reports !== undefined && !existsSync(String(reports))) throw new ConfigError(`--reports ${String(reports)}: no such folder`)
  return {
    ...(redact ? { redactor: new Redactor(patterns) } : {}),
    ...(values.private === true || file.private === true ? { privatePrompts: true } : {}),
    ...(reports === undefined ? {} : { reportsDir: resolve(String(reports)) }),
    corsOrigins,
    logLevel: logLevel(values['log-level'] ?? file.logLevel),
    host: String(values.host ?? file.host ?? '127.0.0.1'),
    port: number(values.port ?? file.port ?? DEFAULT_API_PORT, '--port', (n) => Number.isInteger(n) && n >= 0 && n <= 65535),
    apiKeys,
    keyAccounts,
    terms: { fee: units(values.fee ?? file.fee, DEFAULT_TERMS.fee, '--fee'), ticket: units(values.ticket ?? file.ticket, DEFAULT_TERMS.ticket, '--ticket') },
    pricing: {
      microPerKToken: units(values.price ?? file.price, DEFAULT_PRICING.microPerKToken, '--price'),
      holdMicro: DEFAULT_PRICING.holdMicro,
      cutBp: Math.round(100 * number(values.cut ?? file.cut ?? DEFAULT_PRICING.cutBp / 100, '--cut', (n) => n >= 0 && n <= 100)),
    },
    ...(retention === undefined ? {} : { retentionMs: 3_600_000 * number(retention, '--retention-hours', (n) => n > 0 && n <= 1e6) }),
    answerSeconds: answerSeconds(values['answer-seconds'] ?? file.answerSeconds),
    calibrationRate: number(values['calibration-rate'] ?? file.calibrationRate ?? DEFAULT_CALIBRATION_RATE, '--calibration-rate', (n) => n >= 0 && n <= 1),
    maxRounds: number(values['max-rounds'] ?? file.maxRounds ?? GATEWAY_ROUNDS, '--max-rounds', (n) => Number.isInteger(n) && n >= 1 && n <= 1024),
    ...(ratePerS === undefined ? {} : { rateLimit: { ratePerS, burst: burst ?? Math.max(1, 2 * ratePerS) } }),
  }
}

/**
 * What `chorus up` and `chorus gateway` hand the HTTP API from these settings; `ledger`, where the
 * gateway has one, is what its dashboard reads the settlement log and verifies rounds with.
 */
export function gatewayOptionsOf(api: ApiSettings, ledger?: { client: LedgerClient; where: string }): Pick<GatewayOptions, 'apiKeys' | 'keyAccounts' | 'store' | 'maxActiveRounds' | 'rateLimit' | 'corsOrigins' | 'dashboard' | 'redactor' | 'privatePrompts'> {
  return {
    ...(api.redactor ? { redactor: api.redactor } : {}),
    ...(api.privatePrompts ? { privatePrompts: true } : {}),
    dashboard: {
      ...(ledger ? { ledger: dashboardLedger(ledger.client, ledger.where), metered: true } : {}),
      ...(api.reportsDir === undefined ? {} : { reportsDir: api.reportsDir }),
    },
    apiKeys: api.apiKeys,
    ...(api.corsOrigins === undefined ? {} : { corsOrigins: api.corsOrigins }),
    ...(api.keyAccounts ? { keyAccounts: api.keyAccounts } : {}),
    ...(api.retentionMs === undefined ? {} : { store: { ...DEFAULT_STORE_LIMITS, retentionMs: api.retentionMs } }),
    maxActiveRounds: api.maxRounds,
    ...(api.rateLimit ? { rateLimit: api.rateLimit } : {}),
  }
}

/** How long members may take to answer or judge; a round lasts about twice this at most. */
export function answerSeconds(v: unknown): number {
  return number(v ?? 120, '--answer-seconds', (n) => n > 0 && n <= 3600)
}

/** The phase durations a coordinator announces, from --answer-seconds. */
export function phaseDurations(answerS: number): PhaseDurations {
  return durationsFor(Math.round(answerS * 1000))
}

/** A round's whole length, from its Query to its last deadline. */
export function roundLengthMs(d: PhaseDurations): number {
  return d.join + d.commit + d.reveal + d.verdictCommit + d.verdictReveal
}

/** A note for an operator whose rounds would outlast what nodes accept by default. */
export function horizonWarning(d: PhaseDurations): string | undefined {
  const ms = roundLengthMs(d)
  if (ms <= DEFAULT_HORIZON_MS) return undefined
  return `rounds last ${Math.round(ms / 1000)} s; nodes refuse rounds longer than ${DEFAULT_HORIZON_MS / 1000} s unless started with a larger --horizon-seconds`
}

/** A node's participation limits from its options. */
export function readNodeLimits(values: Values, file: FileSettings): Partial<ParticipationLimits> {
  const capacity = number(values.capacity ?? file.capacity ?? NODE_CAPACITY, '--capacity', (n) => Number.isInteger(n) && n >= 1 && n <= 1024)
  const perCoordinator = number(values['per-gateway'] ?? file.perGateway ?? Math.min(ROUNDS_PER_COORDINATOR, capacity), '--per-gateway', (n) => Number.isInteger(n) && n >= 1 && n <= capacity)
  const horizonMs = 1000 * number(values['horizon-seconds'] ?? file.horizonSeconds ?? DEFAULT_HORIZON_MS / 1000, '--horizon-seconds', (n) => n >= 10 && n <= 86_400)
  const listed = typeof values.gateways === 'string' ? values.gateways.split(',') : ((file.gateways as string[] | undefined) ?? undefined)
  const minFee = units(values['min-fee'] ?? file.minFee, DEFAULT_LIMITS.minFee, '--min-fee')
  const limits: Partial<ParticipationLimits> = { capacity, perCoordinator, horizonMs, minFee }
  if (listed !== undefined) {
    const ids = listed.map((g) => g.trim()).filter((g) => g !== '')
    for (const id of ids) if (!/^[0-9a-f]{64}$/.test(id)) throw new ConfigError(`--gateways: '${id}' is not a gateway id (64 hex characters, as chorus gateway prints)`)
    limits.gateways = new Set(ids)
  }
  return limits
}

/** A metrics port, if one is configured. */
export function metricsPort(values: Values, file: FileSettings): number | undefined {
  const v = values['metrics-port'] ?? file.metricsPort
  return v === undefined ? undefined : number(v, '--metrics-port', (n) => Number.isInteger(n) && n >= 0 && n <= 65535)
}

/** How many nodes an in-process swarm has: at least the smallest round. */
export function nodeCount(v: unknown, fallback: number, max: number, min: number): number {
  return number(v ?? fallback, '--nodes', (n) => Number.isInteger(n) && n >= min && n <= max, `a whole number from ${min} to ${max} (a round needs ${min} nodes)`)
}

/** An amount typed in units ("0.01"), as micro-units; `fallback` when not given. */
export function units(v: unknown, fallback: Micro, name: string): Micro {
  if (v === undefined) return fallback
  try {
    return parseUnits(String(v))
  } catch {
    throw new ConfigError(`${name} is not an amount: ${String(v)} (units, up to 6 decimals, e.g. 0.01)`)
  }
}

/** `--forfeit`: one of the ledger's forfeit rules (default: the ledger's default). */
export function forfeitRule(v: string | undefined): ForfeitRule {
  const rule = v ?? DEFAULT_SETTLEMENT_RULES.forfeit
  if (!(FORFEIT_RULES as readonly string[]).includes(rule)) throw new ConfigError(`--forfeit is ${FORFEIT_RULES.join(', ')}, not ${rule}`)
  return rule as ForfeitRule
}

export function number(v: unknown, name: string, ok: (n: number) => boolean, expected?: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN
  if (Number.isNaN(n)) throw new ConfigError(`${name} is not a number: ${String(v)}`)
  if (!ok(n)) throw new ConfigError(`${name} is out of range: ${String(v)}${expected ? ` (expected ${expected})` : ''}`)
  return n
}

/**
 * The load governor's settings (node/loadGovernor.ts), or undefined when neither `--max-load` nor
 * `--quiet-hours` asks for one (off unless enabled: demo, devnet and tests never pause).
 */
export function readGovernorSettings(values: Values, file: FileSettings): GovernorSettings | undefined {
  const max = values['max-load'] ?? file.maxLoad
  const quiet = values['quiet-hours'] ?? file.quietHours
  if (max === undefined && quiet === undefined) return undefined
  const pauseAbove = max === undefined ? 1.01 : number(max, '--max-load', (n) => n > 0 && n <= 1, 'a share of the machine from 0 to 1, e.g. 0.75')
  const resume = values['resume-load'] ?? file.resumeLoad
  const resumeBelow = resume === undefined ? Math.max(0.05, pauseAbove - 0.25) : number(resume, '--resume-load', (n) => n >= 0 && n < pauseAbove, `a share below --max-load (${pauseAbove})`)
  let quietHours: GovernorSettings['quietHours']
  if (quiet !== undefined) {
    const m = /^(\d{1,2})-(\d{1,2})$/.exec(String(quiet).trim())
    if (m === null || Number(m[1]) > 23 || Number(m[2]) > 24 || m[1] === m[2]) throw new ConfigError(`--quiet-hours ${String(quiet)}: give local hours as FROM-TO, e.g. 22-7`)
    quietHours = { from: Number(m[1]), to: Number(m[2]) }
  }
  return { pauseAbove, resumeBelow, samplesToPause: 3, ...(quietHours ? { quietHours } : {}) }
}
