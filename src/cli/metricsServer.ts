import { createServer, type Server } from 'node:http'
import type { MetricsPage } from '../gateway/metrics.js'
import { ConfigError } from './modelSpec.js'

/**
 * A node's metrics endpoint (`--metrics-port`): GET /metrics for Prometheus, GET /healthz for a
 * liveness probe, on loopback. A gateway serves the same routes on its API port instead.
 */
export async function serveMetrics(page: MetricsPage, port: number, host = '127.0.0.1'): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method === 'GET' && path === '/metrics') {
      page.render().then(
        (text) => res.writeHead(200, { 'content-type': page.contentType }).end(text),
        () => res.writeHead(500).end(),
      )
    } else if (req.method === 'GET' && path === '/healthz') res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
    else res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
  })
  server.requestTimeout = 10_000
  server.headersTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ConfigError(err.code === 'EADDRINUSE' ? `metrics port ${port} on ${host} is in use` : `cannot serve metrics on ${host}:${port}: ${err.message}`)),
    )
    server.listen(port, host, resolve)
  })
  const addr = server.address() as { port: number }
  return {
    url: `http://${host}:${addr.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
