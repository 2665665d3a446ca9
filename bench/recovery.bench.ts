import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Devnet } from '../src/cli/devnet.js'
import { type Figure, median } from './stats.js'

/**
 * How fast a devnet serves again after its gateway dies: a gateway process and 5 node processes,
 * supervised as `chorus devnet` runs them. Each node's model is a small OpenAI-compatible server
 * here that holds answers while `slow` is set (judgements are instant). Each trial starts as many
 * rounds as a node holds per gateway (`--per-gateway 4`), waits until the nodes are answering, and
 * kills the gateway with SIGKILL: every node is then full of rounds nobody will finish, whose
 * deadlines are 30 s away. The devnet restarts the gateway on its key and ports; its first Query
 * names where it restarted (`since`), and the nodes drop the dead rounds at once. The figure is the
 * time from the restart's spawn to the first successful round (and from the kill, beside it).
 */
export const figures = ['devnet_recovery_s', 'devnet_recovery_from_kill_s']

/** A reply as the OpenAI API gives it: streamed (SSE) when asked to stream, else one JSON body. */
function send(res: ServerResponse, content: string, stream: boolean): void {
  if (stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.end(`data: ${JSON.stringify({ choices: [{ delta: { content } }] })}\n\ndata: [DONE]\n\n`)
  } else {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] }))
  }
}

async function modelServer(isSlow: () => boolean) {
  const server = createServer(async (req, res) => {
    if (req.method === 'GET') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[{"id":"m","object":"model"}]}')
    let raw = ''
    for await (const c of req) raw += c
    const body = JSON.parse(raw) as { logprobs?: boolean; max_tokens?: number; stream?: boolean }
    const judging = body.logprobs === true || body.max_tokens === 3
    const stream = body.stream === true
    if (judging || !isSlow()) send(res, judging ? 'A' : 'quick answer', stream)
    else setTimeout(() => send(res, 'slow answer', stream), 10_000)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) }
}

const ask = (url: string, i: number, timeoutMs: number) =>
  fetch(`${url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content: `recovery ${i}` }] }),
    signal: AbortSignal.timeout(timeoutMs),
  }).then(
    (r) => r.status === 200,
    () => false,
  )

export async function run(): Promise<Figure[]> {
  let slow = false
  const model = await modelServer(() => slow)
  let respawned = 0
  const net = new Devnet({
    nodes: 5,
    model: `openai:${model.url}#m`,
    answerSeconds: 30,
    nodeArgs: ['--per-gateway', '4'],
    supervise: true,
    onEvent: (line) => {
      if (line === 'gateway restarting') respawned = performance.now()
    },
  })
  await net.start()
  const fromRestart: number[] = []
  const fromKill: number[] = []
  try {
    for (let trial = 0; trial < 5; trial++) {
      slow = true
      const load = Array.from({ length: 4 }, (_, k) => ask(net.apiUrl, trial * 100 + k, 60_000))
      await new Promise((r) => setTimeout(r, 1500))
      slow = false
      const killedAt = performance.now()
      respawned = 0
      net.gatewayProc!.kill('SIGKILL')
      await Promise.all(load)
      let k = 0
      while (!(await ask(net.apiUrl, trial * 100 + 50 + k++, 5_000))) {
        if (performance.now() - killedAt > 60_000) throw new Error('the devnet did not recover within 60 s')
        await new Promise((r) => setTimeout(r, 20))
      }
      const done = performance.now()
      fromKill.push((done - killedAt) / 1000)
      fromRestart.push((done - (respawned || killedAt)) / 1000)
    }
  } finally {
    await net.stop()
    await model.close()
  }
  return [
    { name: 'devnet_recovery_s', value: median(fromRestart), unit: 's' },
    { name: 'devnet_recovery_from_kill_s', value: median(fromKill), unit: 's' },
  ]
}
