import { mkdir, open, readFile, truncate, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { DataError } from './zeroeval.js'

/**
 * The record of a live run, one JSON line per finished question, so a long run survives a crash or
 * Ctrl-C and resumes where it stopped. The first line names the run's configuration; a cache made
 * with another configuration is refused rather than mixed in. A line cut off by a crash is dropped
 * on load (the question simply runs again).
 */
export interface LiveRecord {
  id: string
  /** The round id, or undefined when the round failed. */
  roundId?: string
  failed?: string
  /** Per node: its final answer's normal form (null: none) and whether it is right. */
  keys: (string | null)[]
  right: boolean[]
  /** Node index each method picked (-1: none). */
  picks: { swarm: number; weightedBt: number; unweighted: number; majority: number }
  verdicts: number
  tokens: { prompt: number; completion: number; reported: number; calls: number }
  /** Milliseconds per phase of the round. */
  phases: Record<string, number>
}

export class LiveCache {
  private constructor(
    readonly path: string,
    readonly records: Map<string, LiveRecord>,
  ) {}

  static async open(path: string, config: Record<string, unknown>): Promise<LiveCache> {
    const header = JSON.stringify({ chorusEvalCache: 1, config })
    let text: string | undefined
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new DataError(`cannot read the eval cache ${path}: ${(err as Error).message}`)
    }
    if (text === undefined || text.trim() === '') {
      await mkdir(dirname(path), { recursive: true })
      await writeFile(path, `${header}\n`)
      return new LiveCache(path, new Map())
    }
    const lines = text.split('\n')
    if (lines[0] !== header) {
      throw new DataError(`the eval cache ${path} was made with a different configuration (models, benchmark or settings); pass --fresh to start over, or another --cache`)
    }
    // Whole lines end in '\n', so the last element is '' or a line cut off mid-write: both go.
    const complete = lines.slice(1, -1)
    if (!text.endsWith('\n')) {
      // The last line was cut off mid-write: drop it, so appends start on a fresh line.
      await truncate(path, Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)))
    }
    const records = new Map<string, LiveRecord>()
    for (const [i, line] of complete.entries()) {
      try {
        const r = JSON.parse(line) as LiveRecord
        if (typeof r.id !== 'string' || !Array.isArray(r.right)) throw new Error('not a record')
        records.set(r.id, r)
      } catch {
        throw new DataError(`the eval cache ${path} is corrupt at line ${i + 2}; pass --fresh to start over`)
      }
    }
    return new LiveCache(path, records)
  }

  /** Appends and flushes one finished question. */
  async add(record: LiveRecord): Promise<void> {
    this.records.set(record.id, record)
    const fh = await open(this.path, 'a')
    try {
      await fh.appendFile(`${JSON.stringify(record)}\n`)
      await fh.datasync()
    } finally {
      await fh.close()
    }
  }
}
