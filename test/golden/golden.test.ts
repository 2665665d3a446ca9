import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { QueryBody } from '../../src/protocol/messages.js'
import { RULES_VERSIONS } from '../../src/protocol/rulesVersions.js'
import { genesisLedgerView } from '../../src/round/ledgerView.js'
import { parseTranscript } from '../../src/round/transcript.js'
import { verifyTranscript } from '../../src/round/verify.js'

/**
 * Transcripts signed under every rules version, kept as files: each must go on verifying, by the
 * rules its Query names, whatever later versions change. A change that breaks one changed how an
 * old version computes its outcome, and belongs in a new version instead. (Rounds on no ledger:
 * the genesis view.)
 */
const DIR = join(import.meta.dirname, '.')
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'))

describe('golden transcripts', () => {
  it('one for every rules version', () => {
    const versions = new Set(files.map((f) => Number(/^rules-v(\d+)-/.exec(f)?.[1])))
    expect([...versions].sort()).toEqual([...RULES_VERSIONS.keys()].sort())
  })

  for (const file of files) {
    it(`${file} verifies by the rules it names`, () => {
      const envelopes = parseTranscript(readFileSync(join(DIR, file), 'utf8'))
      const v = verifyTranscript(envelopes, { ledger: genesisLedgerView() })
      expect(String((envelopes[0] as { body: QueryBody }).body.rules.version)).toBe(/^rules-v(\d+)-/.exec(file)![1])
      expect(v.outcome.ranked).toBe(true)
    })
  }
})
