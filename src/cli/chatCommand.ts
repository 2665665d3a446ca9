import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import type { ChatMessage } from '../protocol/messages.js'
import { gatewayClient, printable, roundLine, streamRound } from './ask.js'
import { number } from './settings.js'

export const CHAT_HELP = `chorus chat [options]

Talks with the swarm, like ollama run: type a question and press Enter; the round's phases show as
they happen, then the answer and one line about its round. The conversation so far goes with each
question. /reset forgets it, /exit or Ctrl-D ends; Ctrl-C abandons the round in progress.

  --url <base>      the gateway (default $CHORUS_URL or http://127.0.0.1:8420/v1)
  --api-key <key>   Bearer key (default $CHORUS_API_KEY)
  --timeout <s>     give up on a round after this many seconds
`

export async function chatCommand(args: string[], input: NodeJS.ReadableStream = process.stdin, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { values } = parseArgs({ args, options: { url: { type: 'string' }, 'api-key': { type: 'string' }, timeout: { type: 'string' } } })
  const client = gatewayClient(values)
  const timeoutS = values.timeout === undefined ? undefined : number(values.timeout, '--timeout', (n) => n > 0 && n <= 86_400)
  const tty = (out as { isTTY?: boolean }).isTTY === true
  const rl = createInterface({ input, ...(tty ? { output: out } : {}), terminal: tty })
  const write = (s: string) => out.write(s)
  let history: ChatMessage[] = []
  let running: AbortController | undefined
  rl.on('SIGINT', () => {
    if (running) running.abort()
    else rl.close()
  })
  // Lines are read through the iterator, which keeps those typed (or piped) while a round runs.
  const lines = rl[Symbol.asyncIterator]()
  write(`chorus chat with ${client.base} — /reset forgets the conversation, /exit ends\n`)
  for (;;) {
    if (tty) write('> ')
    const next = await lines.next()
    if (next.done === true) break // input ended (Ctrl-D, or the end of piped input)
    const line = String(next.value).trim()
    if (line === '') continue
    if (line === '/exit' || line === '/quit') break
    if (line === '/reset') {
      history = []
      write('(conversation forgotten)\n')
      continue
    }
    const messages: ChatMessage[] = [...history, { role: 'user', content: line }]
    running = new AbortController()
    let phases = ''
    try {
      const { answer, chorus } = await streamRound(client, messages, {
        signal: running.signal,
        ...(timeoutS === undefined ? {} : { timeoutS }),
        onPhase: (p) => {
          phases = phases === '' ? p : `${phases} → ${p}`
          if (tty) write(`\r\x1b[2K\x1b[2m${phases}\x1b[0m`)
        },
        onText: (t) => {
          if (tty && phases !== '') {
            write('\r\x1b[2K')
            phases = ''
          }
          write(printable(t))
        },
      })
      write(`\n${tty ? '\x1b[2m' : ''}— ${chorus ? roundLine(chorus) : 'no round details'}${tty ? '\x1b[0m' : ''}\n`)
      history = [...messages, { role: 'assistant', content: answer }]
    } catch (err) {
      write(`\n${running.signal.aborted ? '(round abandoned)' : `error: ${(err as Error).message}`}\n`)
    } finally {
      running = undefined
    }
  }
  rl.close()
  return 0
}
