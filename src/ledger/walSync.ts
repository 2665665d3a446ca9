import { type FileHandle, open } from 'node:fs/promises'

/**
 * Durability off the event loop, for a SQLite database in WAL mode committing with
 * `synchronous = NORMAL`: a commit writes its pages to the WAL through the OS and returns without
 * waiting for the disk (a killed process loses nothing; a power cut may lose the newest commits).
 * A writer that must survive a power cut (money, beacons, a gateway's debts) answers only after
 * `synced()`, which resolves once one fdatasync of the WAL, run on libuv's thread pool, covers every
 * commit made before the call. Writes that arrive together share one sync (group commit), and the
 * event loop keeps serving while the disk works: with `synchronous = FULL` every commit held the
 * served devnet ledger's only thread for about 3 ms (11 ms a round: two beacons and a settlement),
 * and each of a round's locks waited behind them.
 *
 * Checkpoints need nothing from here: SQLite syncs the WAL before copying it into the database and
 * the database after, whatever `synchronous` says. The WAL file stays the same file while the
 * connection is open (a restarted WAL is overwritten from its start, not replaced).
 */
export class WalSync {
  private handle: Promise<FileHandle> | undefined
  /** The sync running now: it may have begun before the newest commits. */
  private running: Promise<void> | undefined
  /** The sync that starts when the running one ends, shared by everyone who asked meanwhile. */
  private next: Promise<void> | undefined
  private closed = false

  constructor(private readonly walPath: string) {}

  synced(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the database is closed'))
    if (this.running === undefined) return this.start()
    this.next ??= this.running
      .catch(() => {})
      .then(() => {
        this.next = undefined
        return this.start()
      })
    return this.next
  }

  /** Lets go of the WAL's file handle once no sync needs it (closing the database syncs everything itself). */
  close(): void {
    this.closed = true
    const handle = this.handle
    this.handle = undefined
    if (handle === undefined) return
    void Promise.allSettled([this.running, this.next]).then(() => handle.then((h) => h.close()).catch(() => {}))
  }

  private start(): Promise<void> {
    const run = this.syncOnce().finally(() => {
      if (this.running === run) this.running = undefined
    })
    this.running = run
    return run
  }

  private async syncOnce(): Promise<void> {
    if (this.closed) return
    this.handle ??= open(this.walPath, 'r')
    let h: FileHandle
    try {
      h = await this.handle
    } catch (err) {
      this.handle = undefined
      throw err
    }
    await h.datasync()
  }
}
