import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, rename, rm, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'

/**
 * Downloads a GGUF model file: from a URL, or `hf:<owner>/<repo>/<path/file.gguf>[@revision]` on
 * Hugging Face. It writes `<file>.part` and renames it only once the whole file is there, checked:
 * the GGUF magic, and the SHA-256 (given, or the one Hugging Face names in its `x-linked-etag`).
 * An interrupted pull resumes from the `.part` with a Range request. The server must answer within
 * `connectMs` and keep sending (a stall past `stallMs` fails): offline, a pull fails in seconds
 * with the reason, never hangs.
 */
export class PullError extends Error {
  readonly code = 'PULL'
}

export interface PullOptions {
  dir: string
  /** Expected SHA-256 (hex); otherwise the server's, when it names one. */
  sha256?: string
  connectMs?: number
  stallMs?: number
  onProgress?: (done: number, total: number | undefined) => void
  signal?: AbortSignal
  fetch?: typeof fetch
}

export interface Pulled {
  path: string
  bytes: number
  sha256: string
  resumedFrom: number
}

/** `hf:owner/repo/file.gguf[@rev]` → its download URL; a URL is returned as it is. */
export function sourceUrl(spec: string): string {
  if (spec.startsWith('hf:')) {
    const m = /^hf:([\w.-]+)\/([\w.-]+)\/(.+?\.gguf)(?:@([\w./-]+))?$/.exec(spec)
    if (m === null) throw new PullError(`'${spec}': write hf:<owner>/<repo>/<file>.gguf (optionally @<revision>)`)
    return `https://huggingface.co/${m[1]}/${m[2]}/resolve/${m[4] ?? 'main'}/${m[3]}`
  }
  let url: URL
  try {
    url = new URL(spec)
  } catch {
    throw new PullError(`'${spec}' is neither a URL nor hf:<owner>/<repo>/<file>.gguf`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new PullError(`'${spec}': only http(s) URLs can be pulled`)
  return url.toString()
}

export async function pullModel(spec: string, opts: PullOptions): Promise<Pulled> {
  const url = sourceUrl(spec)
  const name = basename(new URL(url).pathname)
  if (!/\.gguf$/i.test(name)) throw new PullError(`${name} is not a .gguf file`)
  await mkdir(opts.dir, { recursive: true })
  const path = join(opts.dir, name)
  const part = `${path}.part`
  const have = await stat(part).then((s) => s.size, () => 0)
  const doFetch = opts.fetch ?? fetch
  const connect = new AbortController()
  const connectTimer = setTimeout(() => connect.abort(), opts.connectMs ?? 10_000)
  const stall = new AbortController()
  const signal = AbortSignal.any([connect.signal, stall.signal, ...(opts.signal ? [opts.signal] : [])])
  let res: Response
  try {
    res = await doFetch(url, { headers: have > 0 ? { range: `bytes=${have}-` } : {}, signal, redirect: 'follow' })
  } catch (err) {
    const why = connect.signal.aborted ? `no answer within ${(opts.connectMs ?? 10_000) / 1000} s` : ((err as { cause?: Error }).cause?.message ?? (err as Error).message)
    throw new PullError(`cannot download ${url}: ${why} (offline? models are the operator's to fetch)`)
  } finally {
    clearTimeout(connectTimer)
  }
  const resumed = have > 0 && res.status === 206
  if (!res.ok && res.status !== 206) throw new PullError(`${url} answered ${res.status} ${res.statusText}`)
  if (res.body === null) throw new PullError(`${url} sent no body`)
  const length = Number(res.headers.get('content-length') ?? Number.NaN)
  const total = Number.isFinite(length) ? length + (resumed ? have : 0) : undefined
  const served = res.headers.get('x-linked-etag') ?? res.headers.get('etag') ?? ''
  const expected = (opts.sha256 ?? (/^"?[0-9a-f]{64}"?$/.test(served) ? served.replace(/"/g, '') : undefined))?.toLowerCase()
  const hash = createHash('sha256')
  // Resuming: the bytes already on disk count toward the hash.
  if (resumed) for await (const chunk of createReadStream(part)) hash.update(chunk as Buffer)
  const file = await open(part, resumed ? 'a' : 'w')
  let done = resumed ? have : 0
  let stallTimer = setTimeout(() => stall.abort(), opts.stallMs ?? 30_000)
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      clearTimeout(stallTimer)
      stallTimer = setTimeout(() => stall.abort(), opts.stallMs ?? 30_000)
      await file.write(chunk)
      hash.update(chunk)
      done += chunk.length
      opts.onProgress?.(done, total)
    }
  } catch (err) {
    const why = stall.signal.aborted ? `the download stalled for ${(opts.stallMs ?? 30_000) / 1000} s` : (err as Error).message
    throw new PullError(`${name}: ${why}; ${done} bytes kept in ${part}, run the same pull to resume`)
  } finally {
    clearTimeout(stallTimer)
    await file.close()
  }
  if (total !== undefined && done !== total) throw new PullError(`${name}: the server sent ${done} of ${total} bytes; run the same pull to resume`)
  const sha256 = hash.digest('hex')
  const reject = async (why: string) => {
    await rm(part, { force: true })
    throw new PullError(`${name}: ${why}; the download was removed`)
  }
  if (expected !== undefined && sha256 !== expected) await reject(`its SHA-256 is ${sha256}, not ${expected}`)
  const head = Buffer.alloc(4)
  const fh = await open(part, 'r')
  await fh.read(head, 0, 4, 0).finally(() => fh.close())
  if (head.toString('latin1') !== 'GGUF') await reject('it is not a GGUF file')
  await rename(part, path)
  return { path, bytes: done, sha256, resumedFrom: resumed ? have : 0 }
}
