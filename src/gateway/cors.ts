import type { FastifyInstance } from 'fastify'

/**
 * Cross-origin access for browser front-ends (`--cors ORIGIN…`): requests from a listed origin (or
 * any, with `*`) get `Access-Control-Allow-Origin`, and their preflights are answered here, before
 * the API key is asked for (a browser sends no credentials on a preflight). The key is still checked
 * on the request itself. Headers are set on the raw response so that streamed answers carry them too.
 * Origins not listed get no CORS headers, and the browser refuses them what it would refuse anyway.
 */
export interface CorsOptions {
  /** Exact origins (`https://app.example`), or `*` for any. */
  origins: readonly string[]
}

const ALLOWED_METHODS = 'GET, POST, OPTIONS'
const ALLOWED_HEADERS = 'authorization, content-type, openai-beta, x-stainless-arch, x-stainless-lang, x-stainless-os, x-stainless-package-version, x-stainless-runtime, x-stainless-runtime-version, x-stainless-retry-count, x-stainless-timeout'
const PREFLIGHT_CACHE_S = '600'

/** Registers the hook; call before any hook that might refuse the request (the API key's). */
export function installCors(app: FastifyInstance, opts: CorsOptions): void {
  const any = opts.origins.includes('*')
  const listed = new Set(opts.origins)
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin
    if (origin === undefined || !(any || listed.has(origin))) return
    const res = reply.raw
    res.setHeader('access-control-allow-origin', any ? '*' : origin)
    if (!any) res.setHeader('vary', 'Origin')
    res.setHeader('access-control-expose-headers', 'retry-after')
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      res.setHeader('access-control-allow-methods', ALLOWED_METHODS)
      res.setHeader('access-control-allow-headers', ALLOWED_HEADERS)
      res.setHeader('access-control-max-age', PREFLIGHT_CACHE_S)
      return reply.code(204).send()
    }
  })
}

/** `--cors` values: each an origin (scheme://host[:port]) or `*`; a malformed one is refused by name. */
export function parseCorsOrigins(values: readonly string[]): string[] {
  return values.map((v) => {
    const o = v.trim()
    if (o === '*') return o
    let url: URL
    try {
      url = new URL(o)
    } catch {
      throw new Error(`--cors ${v}: not an origin (write it as scheme://host[:port], or * for any)`)
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== o.replace(/\/$/, '')) throw new Error(`--cors ${v}: not an origin (write it as scheme://host[:port], with no path)`)
    return url.origin
  })
}
