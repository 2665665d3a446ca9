import { access, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { readKeyFile, writeKeyFile } from './keyFile.js'

export const INIT_HELP = `chorus init [--dir <dir>]

Sets up a node operator's folder (the current directory by default): node.key, the node's ed25519
identity (mode 0600; an existing key is never overwritten), and chorus.json, its settings with a
comment on each (an existing file is left as it is). Then: chorus node --config chorus.json
`

/** The settings file `init` writes: every line a node operator is likely to change, explained. */
const CONFIG = `// Chorus node settings. Start the node with:  chorus node --config chorus.json
// Every setting is also a flag (chorus node --help lists them); a flag wins over this file.
{
  // The node's identity: an ed25519 key file. Its public key is the node id; keep the file secret.
  "key": "node.key",

  // The model that answers and judges: a GGUF file (./models/qwen3-1.7b.gguf),
  // ollama:<model> (a local Ollama), or openai:<base url>#<model> (llama-server, vLLM, LM Studio…).
  "model": "ollama:llama3.2:3b",

  // Where this node listens for peers (libp2p multiaddrs; port 0 picks a free one).
  "listen": ["/ip4/0.0.0.0/tcp/4001"],

  // Peers to connect to first: a gateway's (or another node's) address, ending in /p2p/<its id>.
  "bootstrap": [],

  // Find peers on the local network too.
  "mdns": true,

  // Rounds held at once, and at most this many for any one gateway.
  "capacity": 16,
  "perGateway": 8,

  // Join only rounds tagged with one of these domains, comma-separated ("" for every round).
  "domains": "",

  // As a judge, mark answers that are no genuine attempt (empty, symbol soup, a token repeated,
  // the question echoed): rounds leave out what most judges mark and the text check confirms,
  // and take its ticket. Tools around the model: "maths" checks stated arithmetic; "code" runs
  // code answers in a sandbox (needs unshare -rn). Uncomment to use tools:
  "prefilter": "on",
  // "tools": "maths",

  // Step back while you use this machine: join no new rounds while it is busier than this share
  // of all its cores (this node aside), again once it is down to "resumeLoad"; and/or join
  // nothing during quiet hours (local time). Uncomment to use:
  // "maxLoad": 0.75, "resumeLoad": 0.5, "quietHours": "22-7",

  // The least fee (in units) a round must offer. With a ledger, set it too:
  // "ledger": "http://ledger.example:7070",
  "minFee": "0.001"
}
`

export async function initCommand(args: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const { values } = parseArgs({ args, options: { dir: { type: 'string' } } })
  const dir = resolve(values.dir ?? '.')
  const keyPath = join(dir, 'node.key')
  const configPath = join(dir, 'chorus.json')
  if (await exists(keyPath)) {
    const { identity } = await readKeyFile(keyPath)
    out(`node.key exists: kept it (node id ${identity.id})\n`)
  } else {
    const identity = await writeKeyFile(keyPath)
    out(`wrote node.key (0600): node id ${identity.id}\n`)
  }
  if (await exists(configPath)) out('chorus.json exists: left it as it is\n')
  else {
    await writeFile(configPath, CONFIG, { flag: 'wx' })
    out('wrote chorus.json: set "model" (and "bootstrap" to reach a network), then: chorus node --config chorus.json\n')
  }
  return 0
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  )
}
