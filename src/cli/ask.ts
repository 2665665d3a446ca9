import { formatUnits } from '../ledger/amount.js'
import { parseArgs } from 'node:util'
import type { Provenance } from '../gateway/provenance.js'
import type { ChatMessage } from '../protocol/messages.js'
import { parseSse } from '../models/sse.js'
import { ConfigError } from './modelSpec.js'
import { number } from './settings.js'

/**
 * `chorus ask "…"`: a client of a gateway. Streams the round — its phases on stderr as they happen,
 * the answer as it arrives — then prints a round summary.
 */
export const ASK_HELP = `chorus ask [question] [options]

The question is the arguments, or stdin when there are none (or "-"): echo "…" | chorus ask

  --url <base>      the gateway (default $CHORUS_URL or http://127.0.0.1:8420/v1)
  --api-key <key>   Bearer key (default $CHORUS_API_KEY)
  --timeout <s>     give up after this many seconds (the gateway abandons the round: 504)
  --json            print the answer and the round's provenance as JSON
`

export interface GatewayClient {
  base: string
  key?: string
}

export function gatewayClient(values: { url?: string; 'api-key'?: string }, env: NodeJS.ProcessEnv = process.env): GatewayClient {
  const key = values['api-key'] ?? env.CHORUS_API_KEY
  return { base: (values.url ?? env.CHORUS_URL ?? 'http://127.0.0.1:8420/v1').replace(/\/+$/, ''), ...(key ? { key } : {}) }
}

/** One streamed round: `onPhase` as the gateway reports phases, `onText` with each piece of the answer. */
export async function streamRound(
  client: GatewayClient,
  messages: readonly ChatMessage[],
  opts: { timeoutS?: number; onPhase?: (phase: string) => void; onText?: (text: string) => void; signal?: AbortSignal } = {},
): Promise<{ answer: string; chorus: Provenance | undefined }> {
  let res: Response
  try {
    res = await fetch(`${client.base}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(client.key ? { authorization: `Bearer ${client.key}` } : {}) },
      body: JSON.stringify({ model: 'chorus-swarm', stream: true, messages, ...(opts.timeoutS ? { chorus: { timeout_ms: Math.round(opts.timeoutS * 1000) } } : {}) }),
      ...(opts.signal ? { signal: opts.signal } : {}),
    })
  } catch (err) {
    const why = (err as { cause?: Error }).cause?.message ?? (err as Error).message
    // fetch refuses ports the Fetch standard blocks (9, 25, 6000, …) before it connects.
    if (why === 'bad port') throw new ConfigError(`cannot reach the gateway at ${client.base}: its port is one that HTTP clients refuse to use (the Fetch standard's blocked ports); serve the gateway on another port`)
    throw new ConfigError(`cannot reach the gateway at ${client.base}: ${why}`)
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null
    throw new ConfigError(`the gateway answered ${res.status}: ${body?.error?.message ?? res.statusText}`)
  }
  let answer = ''
  let chorus: Provenance | undefined
  const onComment = (c: string) => {
    if (c.startsWith('phase ')) opts.onPhase?.(c.slice(6))
  }
  for await (const ev of parseSse(res.body as unknown as AsyncIterable<Uint8Array>, onComment)) {
    if (ev.data === '[DONE]') break
    const chunk = JSON.parse(ev.data) as { error?: { message: string }; choices?: { delta?: { content?: string } }[]; chorus?: Provenance }
    if (chunk.error) throw new ConfigError(`the round failed: ${chunk.error.message}`)
    const piece = chunk.choices?.[0]?.delta?.content ?? ''
    if (piece !== '') {
      answer += piece
      opts.onText?.(piece)
    }
    if (chunk.chorus) chorus = chunk.chorus
  }
  return { answer, chorus }
}

/** Model output is untrusted: no terminal control sequences reach the screen. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '')
}

/** One line about a finished round. */
export function roundLine(c: Provenance): string {
  return `round ${c.round.slice(0, 16)}…: ${c.ranked ? 'ranked' : 'unranked'}, ${c.answers} answers, ${c.verdicts} verdicts, winner ${c.winner.slice(0, 8)}${c.separated ? ' (separated)' : ''}, ${c.phases_ms.total} ms${c.charge_micro !== '0' ? `, charged ${formatUnits(BigInt(c.charge_micro))}` : ''}`
}

export async function ask(
  args: string[],
  out: (s: string) => void = (s) => process.stdout.write(s),
  err: (s: string) => void = (s) => process.stderr.write(s),
  stdin: () => Promise<string> = readStdin,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { url: { type: 'string' }, 'api-key': { type: 'string' }, timeout: { type: 'string' }, json: { type: 'boolean', default: false } },
  })
  const fromArgs = positionals.join(' ').trim()
  const question = fromArgs === '' || fromArgs === '-' ? (await stdin()).trim() : fromArgs
  if (question === '') throw new ConfigError('ask needs a question (as arguments, or on stdin)')
  const timeoutS = values.timeout === undefined ? undefined : number(values.timeout, '--timeout', (n) => n > 0 && n <= 86_400)
  const tty = process.stderr.isTTY === true
  let phases = ''
  const { answer, chorus } = await streamRound(gatewayClient(values), [{ role: 'user', content: question }], {
    ...(timeoutS === undefined ? {} : { timeoutS }),
    onPhase: (p) => {
      phases = phases === '' ? p : `${phases} → ${p}`
      if (tty && !values.json) err(`\r\x1b[2K${phases}`)
    },
    ...(values.json ? {} : { onText: (t: string) => out(printable(t)) }),
  })
  if (tty && !values.json && phases !== '') err('\r\x1b[2K')
  if (values.json) {
    out(`${JSON.stringify({ answer, chorus }, null, 2)}\n`)
    return 0
  }
  out('\n')
  if (chorus) {
    const p = chorus.phases_ms
    out(
      `\n— ${roundLine(chorus)}\n` +
        `  phases: join ${p.join} ms, answer ${p.answer} ms, judge ${p.judge} ms\n` +
        `  transcript ${chorus.transcript} (root ${chorus.transcript_root.slice(0, 16)}…): chorus verify <url>\n`,
    )
    for (const s of chorus.scores.slice(0, 8)) out(`  ${s.node.slice(0, 8)}  score ${s.score.toFixed(3).padStart(7)}  strength ${s.strength.toFixed(3)} [${s.lo.toFixed(2)}, ${s.hi.toFixed(2)}]  ×${s.support}\n`)
  }
  return 0
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new ConfigError('ask needs a question: give it as arguments, or pipe it in')
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
