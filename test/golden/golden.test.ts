import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { QueryBody } from '../../src/protocol/messages.js'
import { RULES_VERSIONS } from '../../src/protocol/rulesVersions.js'
import type { BeaconLookup, BeaconPhase, IssuedBeacon } from '../../src/round/beacons.js'
import { genesisLedgerView } from '../../src/round/ledgerView.js'
import { parseTranscript } from '../../src/round/transcript.js'
import { verifyTranscript } from '../../src/round/verify.js'

/**
 * Transcripts signed under every rules version, kept as files: each must go on verifying, by the
 * rules its Query names, whatever later versions change. A change that breaks one changed how an
 * old version computes its outcome, and belongs in a new version instead. (Rounds on no ledger:
 * the genesis view; from rules 2, the beacons the ledger issued, kept beside the transcript.)
 */
const DIR = join(import.meta.dirname, '.')
const files = readdirSync(DIR).filter((f) => f.endsWith('.json') && !f.endsWith('.beacons.json'))

/** From rules 2 on, the beacons the ledger issued to the round sit beside it (`<name>.beacons.json`). */
function beaconsOf(file: string): BeaconLookup | undefined {
  const path = join(DIR, file.replace(/\.json$/, '.beacons.json'))
  if (!existsSync(path)) return undefined
  const issued = JSON.parse(readFileSync(path, 'utf8')) as Record<BeaconPhase, IssuedBeacon>
  return (_round, phase) => issued[phase]
}

describe('golden transcripts', () => {
  it('one for every rules version', () => {
    const versions = new Set(files.map((f) => Number(/^rules-v(\d+)-/.exec(f)?.[1])))
    expect([...versions].sort()).toEqual([...RULES_VERSIONS.keys()].sort())
  })

  for (const file of files) {
    it(`${file} verifies by the rules it names`, () => {
      const envelopes = parseTranscript(readFileSync(join(DIR, file), 'utf8'))
      const beacons = beaconsOf(file)
      const v = verifyTranscript(envelopes, { ledger: genesisLedgerView(), ...(beacons ? { beacons } : {}) })
      expect(String((envelopes[0] as { body: QueryBody }).body.rules.version)).toBe(/^rules-v(\d+)-/.exec(file)![1])
      expect(v.outcome.ranked).toBe(true)
    })
  }
})
