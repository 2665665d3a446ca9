import { DEFAULT_HORIZON_MS, type ParticipationLimits } from '../node/participation.js'
import { GATEWAY_ROUNDS, NODE_CAPACITY, ROUNDS_PER_COORDINATOR } from '../protocol/limits.js'
import { phaseDurations as durationsFor } from '../gateway/coordinatorService.js'
import type { RateLimit } from '../gateway/rateLimiter.js'
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
} as const

export const NETWORK_SETTINGS: SettingTypes = {
  key: 'string',
  listen: 'strings',
  bootstrap: 'strings',
  mdns: 'boolean',
  relay: 'boolean',
  metricsPort: 'number',
}

export const API_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'api-key': { type: 'string', multiple: true },
  rate: { type: 'string' },
  burst: { type: 'string' },
  'answer-seconds': { type: 'string' },
  'max-rounds': { type: 'string' },
} as const

export const API_SETTINGS: SettingTypes = {
  host: 'string',
  port: 'number',
  apiKeys: 'strings',
  ratePerSecond: 'number',
  burst: 'number',
  answerSeconds: 'number',
  maxRounds: 'number',
}

export const NODE_OPTIONS = {
  capacity: { type: 'string' },
  'per-gateway': { type: 'string' },
  'horizon-seconds': { type: 'string' },
  gateways: { type: 'string' },
} as const

export const NODE_SETTINGS: SettingTypes = {
  capacity: 'number',
  perGateway: 'number',
  horizonSeconds: 'number',
  gateways: 'strings',
}

export type Values = Record<string, string | boolean | string[] | undefined>
export type FileSettings = Record<string, unknown>

export interface ApiSettings {
  host: string
  port: number
  apiKeys: string[]
  rateLimit?: RateLimit
  answerSeconds: number
  /** Rounds the gateway runs at once. */
  maxRounds: number
}

/** The API options of `chorus up` and `chorus gateway`. */
export function readApiSettings(values: Values, file: FileSettings, env: NodeJS.ProcessEnv = process.env): ApiSettings {
  const rate = values.rate ?? file.ratePerSecond
  const ratePerS = rate === undefined ? undefined : number(rate, '--rate', (n) => n > 0 && n <= 1e6)
  const burstRaw = values.burst ?? file.burst
  if (burstRaw !== undefined && ratePerS === undefined) throw new ConfigError('--burst needs --rate')
  const burst = burstRaw === undefined ? undefined : number(burstRaw, '--burst', (n) => n >= 1 && n <= 1e6)
  const apiKeys = [...((values['api-key'] as string[] | undefined) ?? []), ...((file.apiKeys as string[] | undefined) ?? []), ...(env.CHORUS_API_KEYS?.split(',') ?? [])]
    .map((k) => k.trim())
    .filter((k) => k !== '')
  return {
    host: String(values.host ?? file.host ?? '127.0.0.1'),
    port: number(values.port ?? file.port ?? 8080, '--port', (n) => Number.isInteger(n) && n >= 0 && n <= 65535),
    apiKeys,
    answerSeconds: answerSeconds(values['answer-seconds'] ?? file.answerSeconds),
    maxRounds: number(values['max-rounds'] ?? file.maxRounds ?? GATEWAY_ROUNDS, '--max-rounds', (n) => Number.isInteger(n) && n >= 1 && n <= 1024),
    ...(ratePerS === undefined ? {} : { rateLimit: { ratePerS, burst: burst ?? Math.max(1, 2 * ratePerS) } }),
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
  const limits: Partial<ParticipationLimits> = { capacity, perCoordinator, horizonMs }
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

export function number(v: unknown, name: string, ok: (n: number) => boolean, expected?: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN
  if (!ok(n)) throw new ConfigError(`${name} is out of range: ${String(v)}${expected ? ` (expected ${expected})` : ''}`)
  return n
}
