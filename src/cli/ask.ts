import { formatUnits } from '../ledger/amount.js'
import { parseArgs } from 'node:util'
import type { Provenance } from '../gateway/provenance.js'
import { parseSse } from '../models/sse.js'
import { ConfigError } from './modelSpec.js'

/**
 * `chorus ask "…"`: a client of a gateway. Streams the round (its phases as they happen), then
 * prints the answer and a round summary.
 */
export const ASK_HELP = `chorus ask <question> [options]

  --url <base>      the gateway (default $CHORUS_URL or http://127.0.0.1:8080/v1)
  --api-key <key>   Bearer key (default $CHORUS_API_KEY)
  --json            print the whole response as JSON
`

export async function ask(args: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { url: { type: 'string' }, 'api-key': { type: 'string' }, json: { type: 'boolean', default: false } },
  })
  const question = positionals.join(' ').trim()
  if (question === '') throw new ConfigError('ask needs a question')
  const base = (values.url ?? process.env.CHORUS_URL ?? 'http://127.0.0.1:8080/v1').replace(/\/+$/, '')
  const key = values['api-key'] ?? process.env.CHORUS_API_KEY
  let res: Response
  try {
    res = await fetch(`${base}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ model: 'chorus-swarm', stream: true, messages: [{ role: 'user', content: question }] }),
    })
  } catch (err) {
    throw new ConfigError(`cannot reach the gateway at ${base}: ${(err as { cause?: Error }).cause?.message ?? (err as Error).message}`)
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null
    throw new ConfigError(`the gateway answered ${res.status}: ${body?.error?.message ?? res.statusText}`)
  }
  let answer = ''
  let chorus: Provenance | undefined
  for await (const ev of parseSse(res.body as unknown as AsyncIterable<Uint8Array>)) {
    if (ev.data === '[DONE]') break
    const chunk = JSON.parse(ev.data) as { error?: { message: string }; choices?: { delta?: { content?: string } }[]; chorus?: Provenance }
    if (chunk.error) throw new ConfigError(`the round failed: ${chunk.error.message}`)
    answer += chunk.choices?.[0]?.delta?.content ?? ''
    if (chunk.chorus) chorus = chunk.chorus
  }
  if (values.json) {
    out(`${JSON.stringify({ answer, chorus }, null, 2)}\n`)
    return 0
  }
  // Model output is untrusted: no terminal control sequences reach the screen.
  // eslint-disable-next-line no-control-regex
  out(`${answer.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '')}\n`)
  if (chorus) {
    const p = chorus.phases_ms
    out(
      `\n— round ${chorus.round.slice(0, 16)}…: ${chorus.ranked ? 'ranked' : 'unranked'}, ${chorus.answers} answers, ${chorus.judges.length} judges, ${chorus.verdicts} verdicts; ` +
        `winner ${chorus.winner.slice(0, 8)}${chorus.separated ? ' (separated)' : ''}\n` +
        `  phases: join ${p.join} ms, answer ${p.answer} ms, judge ${p.judge} ms; total ${p.total} ms${chorus.charge_micro !== '0' ? `; charged ${formatUnits(BigInt(chorus.charge_micro))}` : ''}\n` +
        `  transcript ${chorus.transcript} (root ${chorus.transcript_root.slice(0, 16)}…): chorus verify <url>\n`,
    )
    for (const s of chorus.scores.slice(0, 8)) out(`  ${s.node.slice(0, 8)}  score ${s.score.toFixed(3).padStart(7)}  strength ${s.strength.toFixed(3)} [${s.lo.toFixed(2)}, ${s.hi.toFixed(2)}]  ×${s.support}\n`)
  }
  return 0
}
