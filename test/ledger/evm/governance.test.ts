import { mkdtempSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseEther } from 'viem'
import { describe, expect, it } from 'vitest'
import { Paymaster } from '../../../src/gateway/paymaster.js'
import { Governance, PARAMETERS } from '../../../src/ledger/evm/governance.js'
import { ParameterWatch } from '../../../src/ledger/evm/parameterWatch.js'
import { genesisBase } from '../../../src/ledger/evm/batch.js'
import { Rollup } from '../../../src/ledger/evm/rollup.js'
import { Sequencer } from '../../../src/ledger/evm/sequencer.js'
import { SqliteLedger } from '../../../src/ledger/sqliteLedger.js'
import { verifyLedger } from '../../../src/ledger/verifyLedger.js'
import { GATE_OFF, population } from '../compliance.js'
import { ident } from '../../round/harness.js'
import { edrEngine } from '../../../src/ledger/evm/localEngines.js'
import { revertReason } from './revertReason.js'

/** Parameters change only by a stake-weighted vote with a quorum, and only after the timelock. */
const reason = revertReason

describe('governance by stake (Hardhat EDR)', () => {
  it('changes a parameter only with quorum and a majority of stake, after the timelock; voters stay locked until the vote ends', async () => {
    const chain = await edrEngine()
    const admin = await chain.account('deployer')
    const gov = await Governance.deploy({ votingPeriodS: 600, timelockS: 3_600, quorumBp: 4_000, initial: { ticketPrice: 10_000n, minStake: 1_000_000n } }, chain.publicClient, chain.wallet(admin))
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((l) => chain.account(`voter-${l}`)))
    const [ga, gb, gc] = [a!, b!, c!].map((v) => gov.as(chain.wallet(v)))
    await ga!.stake(parseEther('10'))
    await gb!.stake(parseEther('30'))
    await gc!.stake(parseEther('60'))
    expect(await gov.parameter('ticketPrice')).toBe(10_000n)

    // 10 of 100 voting is below the 40 % quorum: nothing changes.
    const lonely = await ga!.propose('ticketPrice', 99n)
    await ga!.vote(lonely, true)
    expect(await reason(ga!.unstake(1n))).toMatch(/Locked/)
    expect(await reason(ga!.queue(lonely))).toMatch(/TooEarly/)
    await chain.advance(600)
    expect(await reason(ga!.queue(lonely))).toMatch(/no quorum/)
    expect(await reason(ga!.execute(lonely))).toMatch(/not queued/)
    await ga!.unstake(1n)

    // Quorum, but more stake against than for.
    const split = await gb!.propose('ticketPrice', 20_000n)
    await gb!.vote(split, true)
    await gc!.vote(split, false)
    expect(await reason(gc!.vote(split, false))).toMatch(/AlreadyVoted/)
    await chain.advance(600)
    expect(await reason(gb!.queue(split))).toMatch(/more stake against/)

    // Passed: waits out its timelock, then anyone may execute it, once.
    const passed = await gc!.propose('ticketPrice', 20_000n)
    await gc!.vote(passed, true)
    await chain.advance(600)
    expect(await reason(gc!.vote(passed, false))).toMatch(/VoteClosed/)
    await ga!.queue(passed)
    expect(await reason(ga!.execute(passed))).toMatch(/TooEarly/)
    expect(await gov.parameter('ticketPrice')).toBe(10_000n)
    await chain.advance(3_600)
    await ga!.execute(passed)
    expect(await gov.parameter('ticketPrice')).toBe(20_000n)
    expect(await reason(ga!.execute(passed))).toMatch(/already executed/)
    expect((await gov.parameters()).minStake).toBe(1_000_000n)
  })
})

describe('parameters in force, watched', () => {
  it('hears of a change only once it is executed, and a gateway offers the new ticket in the rounds after', async () => {
    const chain = await edrEngine()
    const gov = await Governance.deploy({ votingPeriodS: 60, timelockS: 60, quorumBp: 1, initial: { ticketPrice: 10_000n } }, chain.publicClient, chain.wallet(await chain.account('deployer')))
    const voter = gov.as(chain.wallet(await chain.account('watch-voter')))
    await voter.stake(parseEther('1'))
    const paymaster = new Paymaster({ identity: ident('watching-gateway'), ledger: undefined as never, client: undefined as never, terms: { fee: 5_000n, ticket: 1n } })
    const heard: string[][] = []
    const watch = new ParameterWatch(gov, {
      onChange: (params, changed) => {
        heard.push(changed)
        if (changed.includes('ticketPrice')) paymaster.setTerms({ ...paymaster.terms, ticket: params.ticketPrice })
      },
    })
    await watch.refresh()
    expect(paymaster.terms).toEqual({ fee: 5_000n, ticket: 10_000n })
    const id = await voter.propose('ticketPrice', 25_000n)
    await voter.vote(id, true)
    await chain.advance(60)
    await voter.queue(id)
    await watch.refresh()
    // Queued is not in force: the timelock still runs.
    expect(paymaster.terms.ticket).toBe(10_000n)
    await chain.advance(60)
    await voter.execute(id)
    await watch.refresh()
    await watch.refresh()
    expect(paymaster.terms).toEqual({ fee: 5_000n, ticket: 25_000n })
    expect(heard).toEqual([[...PARAMETERS], ['ticketPrice']])
  })
})

describe('the ledger follows governance', () => {
  it('applies an executed answerers\' share and oldest rules version to the rounds it settles from then on, once, in a log entry that replays', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chorus-governed-'))
    const path = join(dir, 'ledger.sqlite')
    const chain = await edrEngine()
    const operator = ident('governed-operator')
    const ledger = SqliteLedger.open({ path, operator, rules: { oldestRules: 1, ...GATE_OFF } })
    try {
      const deployer = await chain.account('governed-deployer')
      const base = genesisBase(ledger)
      const rollup = await Rollup.deploy({ sequencer: deployer.address, threshold: 1, minVerifierBond: 1n, challengeWindowS: 60, disputeBond: 1n, genesisStateRoot: base.stateRoot, genesisBeacon: base.beacon }, chain.publicClient, chain.wallet(deployer))
      const gov = await Governance.deploy({ votingPeriodS: 60, timelockS: 60, quorumBp: 1, initial: {} }, chain.publicClient, chain.wallet(deployer))
      population(ledger, 3) // staked 2 units each
      const sequencer = new Sequencer(ledger, rollup, base.seq, gov)
      expect(await sequencer.followGovernance()).toBe(false)
      const voter = gov.as(chain.wallet(await chain.account('governed-voter')))
      await voter.stake(parseEther('1'))
      const ids = [await voter.propose('answererShareBp', 6_000n), await voter.propose('oldestRules', 2n), await voter.propose('minStake', 3_000_000n)]
      for (const id of ids) await voter.vote(id, true)
      await chain.advance(60)
      for (const id of ids) await voter.queue(id)
      await chain.advance(60)
      for (const id of ids) await voter.execute(id)
      const before = ledger.head()
      expect(await sequencer.followGovernance()).toBe(true)
      expect(ledger.rules()).toMatchObject({ oldestRules: 2, minStake: 3_000_000n, settlement: { answererShareBp: 6_000 } })
      expect(await sequencer.followGovernance()).toBe(false)
      // Who stood at a head does not change with the minimum: rounds already run keep their members.
      expect(ledger.snapshotAt(before)!.nodes).toHaveLength(3)
      expect(ledger.snapshotAt(ledger.head())!.nodes).toHaveLength(0)
      // A reader that knew the earlier head gets the whole standing, not a change that misses it.
      expect(ledger.standingSince(before, ledger.head())).toBeUndefined()
      // The ledger refuses to lower the oldest rules, whoever asks.
      expect(() => ledger.govern({ oldestRules: 1 })).toThrow(/only move up/)
      sequencer.close()
      ledger.close()
      expect((await verifyLedger(path)).entries).toBe(1 + 3 + 3 * 3 + 1)
      const reopened = SqliteLedger.open({ path, operator })
      expect(reopened.rules()).toMatchObject({ oldestRules: 2, settlement: { answererShareBp: 6_000 } })
      reopened.close()
    } finally {
      if (ledger.isOpen) ledger.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
