import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { openedElsewhere, type Signed } from './envelope.js'
import { ProtocolError, type RejectionCode } from './errors.js'

/**
 * Opens many envelopes at once on worker threads, each running the same checks a node runs on a
 * message off the wire, with libsodium's signature check (about twice as fast here as the
 * node:crypto one libuv's thread pool would run). The ledger opens every transcript it settles or
 * replays this way: signatures are nine tenths of a settlement's work, and on worker threads they
 * run on every core while the ledger's single writer applies the rounds already opened.
 *
 * A big job is cut into pieces so one large transcript still uses every thread. Threads start on
 * the first job and keep the process alive only while they have work.
 */
export interface OpenJob {
  id: number
  texts: readonly string[]
}

export interface OpenReply {
  id: number
  /** Each envelope's hash, when all opened. */
  hashes?: string[]
  failed?: { index: number; code: RejectionCode; message: string }
}

/** The first envelope that failed to open, by its index in the list given. */
export interface OpenFailure {
  index: number
  error: ProtocolError
}

/** Below this many envelopes a piece is not worth a message to another thread. */
const MIN_PIECE = 32

interface Pending {
  resolve: (reply: OpenReply) => void
  reject: (err: Error) => void
  size: number
}

class OpenerThread {
  private readonly worker: Worker
  private readonly pending = new Map<number, Pending>()
  /** Envelopes sent and not yet answered: where the next piece goes. */
  load = 0
  alive = true

  constructor(script: string) {
    this.worker = new Worker(script)
    this.worker.unref()
    this.worker.on('message', (reply: OpenReply) => {
      const p = this.pending.get(reply.id)
      if (p === undefined) return
      this.settled(reply.id, p)
      p.resolve(reply)
    })
    // A thread that dies takes its jobs with it; the pool starts another for the next job.
    const died = (err: Error) => {
      this.alive = false
      for (const [id, p] of this.pending) {
        this.settled(id, p)
        p.reject(err)
      }
    }
    this.worker.on('error', died)
    this.worker.on('exit', (code) => died(new Error(`an envelope opener thread exited (code ${code})`)))
  }

  run(job: OpenJob): Promise<OpenReply> {
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref()
      this.pending.set(job.id, { resolve, reject, size: job.texts.length })
      this.load += job.texts.length
      this.worker.postMessage(job)
    })
  }

  private settled(id: number, p: Pending): void {
    this.pending.delete(id)
    this.load -= p.size
    if (this.pending.size === 0) this.worker.unref()
  }

  terminate(): Promise<number> {
    this.alive = false
    return this.worker.terminate()
  }
}

export class EnvelopeOpenerPool {
  private readonly threads: OpenerThread[] = []
  private nextId = 0
  private closed = false

  constructor(private readonly size = availableParallelism()) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError('an opener pool has at least one thread')
  }

  /**
   * Opens `texts` (canonical envelopes) and returns them as verified messages, in order, or the
   * first that failed: its index and why, with the code a node would give it off the wire.
   */
  async open(texts: readonly string[]): Promise<Signed[] | OpenFailure> {
    if (this.closed) throw new Error('the envelope opener pool is closed')
    const pieces = Math.max(1, Math.min(this.size, Math.floor(texts.length / MIN_PIECE)))
    const per = Math.ceil(texts.length / pieces)
    const jobs: Promise<OpenReply>[] = []
    for (let from = 0; from < texts.length; from += per) jobs.push(this.thread().run({ id: this.nextId++, texts: texts.slice(from, from + per) }))
    const replies = await Promise.all(jobs)
    for (let j = 0; j < replies.length; j++) {
      const f = replies[j]!.failed
      if (f !== undefined) return { index: j * per + f.index, error: new ProtocolError(f.code, f.message) }
    }
    const hashes = replies.flatMap((r) => r.hashes!)
    return texts.map((t, i) => openedElsewhere(t, hashes[i]!))
  }

  async close(): Promise<void> {
    this.closed = true
    await Promise.all(this.threads.splice(0).map((t) => t.terminate()))
  }

  /** The least loaded live thread, starting one while the pool is below its size. */
  private thread(): OpenerThread {
    for (let i = this.threads.length - 1; i >= 0; i--) if (!this.threads[i]!.alive) this.threads.splice(i, 1)
    if (this.threads.length < this.size) {
      const t = new OpenerThread(WORKER_SCRIPT)
      this.threads.push(t)
      return t
    }
    return this.threads.reduce((a, b) => (b.load < a.load ? b : a))
  }
}

/** The worker's entry: beside this file when built; from dist/ when this is the TS source (tests). */
const HERE = fileURLToPath(import.meta.url)
const WORKER_SCRIPT = HERE.endsWith('.ts') ? join(dirname(HERE), '../../dist/src/protocol/openerWorker.js') : join(dirname(HERE), 'openerWorker.js')
