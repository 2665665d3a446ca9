import { Writable } from 'node:stream'
import { pino, type Logger, type LevelWithSilent } from 'pino'
import { ConfigError } from './modelSpec.js'

/**
 * The log of a long-running command (pino): on stderr, one JSON object per line for log collectors,
 * or — on a terminal — one readable line per event (`12:04:05 INFO  request POST /v1/… 200 41 ms`).
 * The start-up lines that name the API URL and the p2p address are not log lines: they stay plain
 * on stdout, where scripts read them.
 */
export const LOG_LEVELS: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']

export function logLevel(v: unknown): LevelWithSilent {
  const level = String(v ?? 'info')
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new ConfigError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`)
  return level as LevelWithSilent
}

export function createLogger(opts: { level: LevelWithSilent; stream?: NodeJS.WritableStream; pretty?: boolean; name?: string }): Logger {
  const out = opts.stream ?? process.stderr
  const pretty = opts.pretty ?? (out as { isTTY?: boolean }).isTTY === true
  return pino({ level: opts.level, base: opts.name === undefined ? null : { name: opts.name } }, pretty ? readable(out) : (out as Writable))
}

const LABELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' }

/** pino's JSON lines made readable: time, level, message, then the fields as key=value. */
function readable(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue
        try {
          const { level, time, msg, pid: _pid, hostname: _host, ...fields } = JSON.parse(line) as Record<string, unknown>
          const at = new Date(Number(time)).toTimeString().slice(0, 8)
          const rest = Object.entries(fields)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ')
          out.write(`${at} ${LABELS[Number(level)] ?? String(level)} ${String(msg ?? '')}${rest ? `  ${rest}` : ''}\n`)
        } catch {
          out.write(`${line}\n`)
        }
      }
      done()
    },
  })
}

/** Peers connecting and leaving, as log lines (libp2p's peer events). */
export function logPeers(transport: { node: { addEventListener(type: 'peer:connect' | 'peer:disconnect', fn: (e: CustomEvent<{ toString(): string }>) => void): void } }, log: Logger): void {
  transport.node.addEventListener('peer:connect', (e) => log.info({ peer: e.detail.toString() }, 'peer connected'))
  transport.node.addEventListener('peer:disconnect', (e) => log.info({ peer: e.detail.toString() }, 'peer left'))
}
