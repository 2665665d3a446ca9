import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { WalSync } from '../../src/ledger/walSync.js'

describe('WalSync', () => {
  let dir: string
  let db: Database.Database
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chorus-walsync-'))
    db = new Database(join(dir, 'x.sqlite'))
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.exec('CREATE TABLE t (v INTEGER)')
  })
  afterEach(async () => {
    if (db.open) db.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('shares one sync among the callers that arrive while one runs (group commit)', async () => {
    const wal = new WalSync(`${db.name}-wal`)
    db.prepare('INSERT INTO t VALUES (1)').run()
    const first = wal.synced()
    db.prepare('INSERT INTO t VALUES (2)').run()
    // The running sync may have begun before the second insert: these wait for the next one, together.
    const second = wal.synced()
    const third = wal.synced()
    expect(second).toBe(third)
    expect(second).not.toBe(first)
    await Promise.all([first, second, third])
    // Nothing running now: a new call starts a sync of its own.
    const fourth = wal.synced()
    expect(fourth).not.toBe(second)
    await fourth
    wal.close()
  })

  it('refuses once closed, and reports a WAL it cannot open', async () => {
    const missing = new WalSync(join(dir, 'nothing-wal'))
    await expect(missing.synced()).rejects.toThrow(/ENOENT/)
    // A failed sync does not stick: the next call tries again (and fails again, honestly).
    await expect(missing.synced()).rejects.toThrow(/ENOENT/)
    const wal = new WalSync(`${db.name}-wal`)
    await wal.synced()
    wal.close()
    await expect(wal.synced()).rejects.toThrow(/closed/)
  })
})
