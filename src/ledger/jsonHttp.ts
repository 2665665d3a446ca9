import http from 'node:http'
import https from 'node:https'

/**
 * JSON over HTTP on kept-alive connections, for the ledger's clients. A devnet round makes about a
 * dozen ledger calls (a lock per member, two beacons, a settlement, standing reads); measured here,
 * `fetch` (undici) spent about 0.4 ms more CPU per call than `node:http` with a keep-alive agent —
 * on a machine whose devnet round is CPU-bound, that much per round is round time.
 */
export interface JsonReply {
  status: number
  /** The body parsed as JSON; undefined when it is not JSON. */
  json: unknown
}

/** Bodies past this are refused: a log page is about 4 MiB, one entry at most 8. */
const MAX_REPLY_BYTES = 32 * 1024 * 1024
/** An idle connection is closed after this, before a server's own keep-alive timeout (Node's is 5 s) can race a request. */
const IDLE_MS = 4_000

export class JsonHttp {
  private readonly agent: http.Agent
  private readonly transport: typeof http | typeof https

  private readonly maxReplyBytes: number

  constructor(base: string, options: { maxReplyBytes?: number } = {}) {
    this.maxReplyBytes = options.maxReplyBytes ?? MAX_REPLY_BYTES
    const secure = new URL(base).protocol === 'https:'
    this.transport = secure ? https : http
    this.agent = new (secure ? https.Agent : http.Agent)({ keepAlive: true, timeout: IDLE_MS })
  }

  /** Rejects (with the reason) when the server cannot be reached or `signal` aborts. */
  request(method: string, url: string, body: unknown, signal: AbortSignal): Promise<JsonReply> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const once = (): Promise<JsonReply> =>
      new Promise((resolve, reject) => {
        const req = this.transport.request(url, {
          method,
          agent: this.agent,
          signal,
          headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': payload.length },
        })
        req.on('error', (err) => reject(Object.assign(err, { reused: req.reusedSocket })))
        req.on('response', (res) => {
          const chunks: Buffer[] = []
          let bytes = 0
          let refused = false
          res.on('data', (c: Buffer) => {
            bytes += c.length
            if (bytes <= this.maxReplyBytes) return void chunks.push(c)
            if (refused) return
            refused = true
            // The connection is dropped with what is left of the reply; the error was ours to give.
            res.destroy()
            reject(new Error(`the reply is over ${this.maxReplyBytes} bytes`))
          })
          res.on('error', (err) => {
            if (!refused) reject(err)
          })
          res.on('end', () => {
            let json: unknown
            try {
              json = JSON.parse(Buffer.concat(chunks).toString('utf8'))
            } catch {
              json = undefined
            }
            resolve({ status: res.statusCode ?? 0, json })
          })
        })
        req.end(payload)
      })
    // A kept-alive connection the server closed just as it was reused fails before the request
    // was read: that one is sent again, once, on a new connection (Node's documented pattern).
    return once().catch((err: Error & { code?: string; reused?: boolean }) => {
      if (err.reused === true && err.code === 'ECONNRESET' && !signal.aborted) return once()
      throw err
    })
  }

  close(): void {
    this.agent.destroy()
  }
}
