#!/usr/bin/env node
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { ModelLoadError } from '../models/llamaCpp.js'
import { HttpBackendError } from '../models/openaiHttp.js'
import { sizeThreadPoolToCores } from '../runtime/threadPool.js'
import { parseTranscript } from '../round/transcript.js'
import { TranscriptError, verifyTranscript } from '../round/verify.js'
import { ASK_HELP, ask } from './ask.js'
import { DEMO_HELP, demo } from './demo.js'
import { UP_HELP, up } from './up.js'
import { DEVNET_HELP, devnet } from './devnet.js'
import { SIM_HELP, simCommand } from './simCommand.js'
import { EVAL_HELP, evalCommand } from './evalCommand.js'
import { GATEWAY_HELP, gatewayCommand } from './gatewayCommand.js'
import { writeKeyFile } from './keyFile.js'
import { INIT_HELP, initCommand } from './initCommand.js'
import { CHAT_HELP, chatCommand } from './chatCommand.js'
import { MODELS_HELP, modelsCommand } from './modelsCommand.js'
import { NODE_HELP, nodeCommand } from './nodeCommand.js'
import { LEDGER_HELP, ledgerCommand } from './ledgerCommand.js'
import { ledgerViewFor } from './transcriptLedger.js'
import { ConfigError } from './modelSpec.js'
import { LedgerError } from '../ledger/ledger.js'
import { LedgerUnreachableError } from '../ledger/httpLedgerClient.js'

/** The `chorus` command: parses arguments, wires the parts for one job, runs it. */
const VERSION = '0.1.0'

const HELP = `chorus ${VERSION} — swarm inference: many models answer, rank each other, and the swarm picks

Usage:
  chorus demo [question] [options]      run a swarm in this process and ask it one question
  chorus up [options]                   serve the swarm as an OpenAI-compatible API
  chorus ask [question] [options]       ask a gateway (the question on stdin if not given); streams the answer
  chorus chat [options]                 talk with the swarm: a prompt loop with each round's phases and summary
  chorus models pull <url | hf:…>       download a GGUF model (progress, resume, checksum); models list
  chorus init                           set up a node operator's folder: node.key and a commented chorus.json
  chorus keygen <file>                  write a new node key file
  chorus node --key <file> [options]    run a node on the network
  chorus gateway --key <file> [options] serve the API, coordinating rounds over the network
  chorus devnet [--nodes N] [options]   a gateway and N node processes on loopback
  chorus eval --task <task> [...]       measure the swarm against voting and single models; tasks:
                                        gsm, math-l5, zeroeval:<name>, replay --file F.jsonl
                                        (recorded replies), prd (recorded peer reviews), live
  chorus sim --scenario <name> [...]    a simulated population on the real protocol and ledger
  chorus ledger <command> [...]         the ledger: verify, show, export, register, stake, unbond,
                                        withdraw, allow, rotate, credit, backup, serve
  chorus verify <file | url | ->        recompute a round from its signed transcript and check
                                        every signature, seal, commitment and the Result
  (chorus <command> --help for a command's options)

Model specs (--model, repeatable):
  ./path/model.gguf                     a GGUF file, in-process (llama.cpp, CPU)
  ollama:<model>                        an Ollama server on 127.0.0.1:11434
  openai:<base url>#<model>             any OpenAI-compatible server (llama-server, vLLM, LM Studio, …)
  test:instant                          instant canned replies (protocol tests only)
  (none given: .gguf files in ./models, else tiny generated models that say so)

  chorus help                           this text
  chorus --version

Options for verify:
  --ledger <url>             the ledger the round names (judge weights and eligibility at its head)
  --ledger-file <path>       the same, from a ledger file (default .chorus/ledger.sqlite when it has
                             the round's head; a round on no ledger needs neither)
  --json                     print the verified outcome as JSON

Exit status: 0 verified, 1 the transcript does not hold, 2 usage or input error.
`

class UsageError extends Error {}

/**
 * The one root controller of this process: the long-running commands stop when it aborts, on
 * SIGINT or SIGTERM, or when the devnet that started this process goes away (its IPC channel
 * closes: even a SIGKILLed parent takes its children with it). A second signal exits at once.
 */
function rootSignal(): AbortSignal {
  const root = new AbortController()
  const stop = () => {
    if (root.signal.aborted) process.exit(130)
    root.abort()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  if (process.env.CHORUS_EXIT_WITH_PARENT === '1' && process.channel !== undefined) {
    delete process.env.CHORUS_EXIT_WITH_PARENT
    process.channel.unref()
    process.once('disconnect', () => root.abort())
  }
  return root.signal
}

async function main(argv: string[]): Promise<number> {
  sizeThreadPoolToCores()
  const [command, ...rest] = argv
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP)
    return command === undefined ? 2 : 0
  }
  if (command === '--version' || command === 'version') {
    process.stdout.write(`${VERSION}\n`)
    return 0
  }
  // Commands given the root signal run until it aborts; the others keep the default signal
  // behaviour (a synchronous replay could not act on a handler until it finished).
  const commands: Record<string, { help: string; run: (args: string[], signal: AbortSignal) => Promise<number>; stoppable?: (args: string[]) => boolean }> = {
    verify: { help: VERIFY_HELP, run: verify },
    demo: { help: DEMO_HELP, run: (a, s) => demo(a, undefined, s), stoppable: () => true },
    up: { help: UP_HELP, run: up, stoppable: () => true },
    ask: { help: ASK_HELP, run: (a) => ask(a) },
    node: { help: NODE_HELP, run: (a, s) => nodeCommand(a, s), stoppable: () => true },
    gateway: { help: GATEWAY_HELP, run: (a, s) => gatewayCommand(a, s), stoppable: () => true },
    devnet: { help: DEVNET_HELP, run: (a, s) => devnet(a, s), stoppable: () => true },
    sim: { help: SIM_HELP, run: (a, s) => simCommand(a, s), stoppable: () => false },
    eval: { help: EVAL_HELP, run: (a, s) => evalCommand(a, undefined, s), stoppable: (a) => a.some((x, i) => x === '--task=live' || (x === '--task' && a[i + 1] === 'live')) },
    ledger: { help: LEDGER_HELP, run: (a, s) => ledgerCommand(a, s), stoppable: (a) => a[0] === 'serve' },
    init: { help: INIT_HELP, run: (a) => initCommand(a) },
    chat: { help: CHAT_HELP, run: (a) => chatCommand(a) },
    models: { help: MODELS_HELP, run: (a, s) => modelsCommand(a, s), stoppable: () => true },
    keygen: { help: 'chorus keygen <file>   writes a new ed25519 key file (0600) and prints the node id\n', run: keygen },
  }
  const cmd = commands[command]
  if (cmd !== undefined) {
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(cmd.help)
      return 0
    }
    try {
      return await cmd.run(rest, cmd.stoppable?.(rest) ? rootSignal() : new AbortController().signal)
    } catch (err) {
      if (
        err instanceof ConfigError ||
        err instanceof LedgerError ||
        err instanceof LedgerUnreachableError ||
        err instanceof ModelLoadError ||
        err instanceof HttpBackendError ||
        (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))
      ) {
        throw new UsageError(err.message)
      }
      throw err
    }
  }
  throw new UsageError(`unknown command '${command}' (try 'chorus help')`)
}

const VERIFY_HELP = `chorus verify <file | url | -> [options]

Recomputes a round from its signed transcript — every signature, commitment and seal, the member
selection, the judge assignment and the outcome, by the rules version its Query signed — and says
VALID (exit 0) or INVALID with the reason (exit 1); 2 on a usage error. A URL is fetched with
$CHORUS_API_KEY as the Bearer key when set; - reads stdin.

  --ledger <url>        check the round's beacons and standing against this served ledger
  --ledger-file <file>  or against this ledger file (.chorus/ledger.sqlite)
  --json                print the outcome as JSON
`

async function verify(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ledger: { type: 'string' },
      'ledger-file': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  })
  const source = positionals[0]
  if (source === undefined || positionals.length > 1)
    throw new UsageError('verify takes one transcript file (or - for stdin)')

  let text: string
  try {
    text = source === '-' ? await readStdin() : /^https?:\/\//.test(source) ? await fetchText(source) : await readFile(source, 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read ${source}: ${(err as Error).message}`)
  }
  try {
    const envelopes = parseTranscript(text)
    const { view, beacons } = await ledgerViewFor(envelopes, { ...(values.ledger ? { url: values.ledger } : {}), ...(values['ledger-file'] ? { file: values['ledger-file'] } : {}) })
    const v = verifyTranscript(envelopes, { ledger: view, ...(beacons ? { beacons } : {}) })
    const o = v.outcome
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({ valid: true, round: v.roundId, root: v.root, outcome: o }, null, 2)}\n`,
      )
    } else {
      process.stdout.write(
        `VALID round ${v.roundId}\n  coordinator ${v.coordinator}\n  root        ${v.root}\n` +
          `  ${o.ranked ? 'ranked' : 'unranked'}, ${o.scores.length} answers, ${o.verdictCount} verdicts, winner ${o.winner}` +
          `${o.separated ? ' (separated from the runner-up)' : ''}\n` +
          `  rules ${v.query.rules.version}${v.query.prompt ? ', private (the prompt went to the members alone)' : ''}${v.query.operators ? `, only operators ${v.query.operators.join(', ')}` : ''}\n` +
          (o.excluded.length > 0 ? `  left out as no genuine attempt (tickets forfeit): ${o.excluded.join(', ')}\n` : ''),
      )
    }
    return 0
  } catch (err) {
    if (err instanceof TranscriptError || (err as { code?: string }).code !== undefined) {
      process.stdout.write(`INVALID ${(err as Error).message}\n`)
      return 1
    }
    throw err
  }
}

async function keygen(args: string[]): Promise<number> {
  if (args.length !== 1) throw new UsageError('keygen takes one file name')
  const id = await writeKeyFile(args[0]!)
  process.stdout.write(`${id.id}\n`)
  return 0
}

async function fetchText(url: string): Promise<string> {
  const res = await fetch(url, { headers: process.env.CHORUS_API_KEY ? { authorization: `Bearer ${process.env.CHORUS_API_KEY}` } : {} })
  if (!res.ok) throw new Error(`${url} answered ${res.status}`)
  return res.text()
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

// A reader that stops early (`chorus ask … | head`) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err) => {
    process.stderr.write(`chorus: ${err instanceof UsageError ? err.message : (err as Error).stack}\n`)
    process.exitCode = 2
  },
)
