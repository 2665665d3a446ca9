import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A scripted OpenAI-compatible chat server on 127.0.0.1 for backend tests. Each request is handed
 * to `handle`, which writes whatever the test needs (plain JSON, SSE with comments, errors, stalls).
 */
export interface Scripted {
  url: string
  requests: Record<string, unknown>[]
  close(): Promise<void>
}

export async function scriptedServer(
  handle: (body: Record<string, unknown>, res: ServerResponse, n: number) => void,
  models?: string[],
): Promise<Scripted> {
  const requests: Record<string, unknown>[] = []
  const server = createServer(async (req: IncomingMessage, res) => {
    if (req.method === 'GET' && req.url?.endsWith('/models')) {
      if (models === undefined) return sendJson(res, 404, { error: { message: 'no such route' } })
      return sendJson(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model' })) })
    }
    let raw = ''
    for await (const c of req) raw += c
    const body = JSON.parse(raw || '{}') as Record<string, unknown>
    requests.push(body)
    handle(body, res, requests.length)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

export const completion = (content: string, logprobs?: { token: string; logprob: number }[]) => ({
  choices: [{ message: { role: 'assistant', content }, ...(logprobs ? { logprobs: { content: [{ token: content, logprob: -0.1, top_logprobs: logprobs }] } } : {}) }],
})

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

/** Streams `parts` as chat.completion.chunk events, with a comment and keep-alive lines between. */
export function sendSse(res: ServerResponse, parts: string[], opts: { errorAfter?: number; noDone?: boolean; crlf?: boolean } = {}): void {
  const nl = opts.crlf ? '\r\n' : '\n'
  res.writeHead(200, { 'content-type': 'text/event-stream' })
  res.write(`: keep-alive${nl}${nl}`)
  for (const [i, p] of parts.entries()) {
    if (opts.errorAfter === i) {
      res.write(`data: ${JSON.stringify({ error: { message: 'model crashed' } })}${nl}${nl}`)
      res.end()
      return
    }
    res.write(`: ping${nl}data: ${JSON.stringify({ choices: [{ delta: { content: p } }] })}${nl}${nl}`)
  }
  if (!opts.noDone) res.write(`data: [DONE]${nl}${nl}`)
  res.end()
}
