import { describe, expect, it } from 'vitest'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { type Signed, signEnvelope } from '../../src/protocol/envelope.js'
import { ProtocolError } from '../../src/protocol/errors.js'
import { BoundedMap } from '../../src/runtime/boundedMap.js'
import { RoundHost, type RoundMachine } from '../../src/runtime/roundHost.js'
import { PeerPenalties } from '../../src/transport/peerPenalties.js'
import { ManualClock } from './manualClock.js'

/** A machine that accepts Joins with an even ticket, refuses the rest, and ends at its deadline. */
class Toy implements RoundMachine<string> {
  readonly roundId = 'ab'.repeat(32)
  deadline: number | undefined = 100
  applied = 0
  nextDeadline() {
    return this.deadline
  }
  tick(now: number) {
    if (this.deadline === undefined || now < this.deadline) return []
    this.deadline = undefined
    return ['ended']
  }
  apply(msg: Signed<'Join'>): string[] {
    if (Number(msg.env.body.ticket) % 2 === 1) throw new ProtocolError('BAD_TICKET', 'odd ticket')
    if (msg.env.body.ticket === '666') throw new TypeError('a bug')
    this.applied++
    return ['applied']
  }
}

function host() {
  const clock = new ManualClock(0)
  const log: string[] = []
  const rejected: string[] = []
  const bugs: unknown[] = []
  const h: RoundHost<Toy, string> = new RoundHost<Toy, string>({
    clock,
    perform: (r, effects) => {
      log.push(...effects)
      if (effects.includes('ended')) h.remove(r.machine.roundId)
    },
    onReject: (e) => rejected.push(e.code),
    onBug: (e) => bugs.push(e),
  })
  return { clock, h, log, rejected, bugs }
}

const alice = identityFromSeed(Buffer.alloc(32, 7))
const join = (seq: number, ticket: string) => signEnvelope(alice, { type: 'Join', round: 'ab'.repeat(32), seq, body: { ticket } }) as Signed<'Join'>

describe('RoundHost', () => {
  it('ticks a machine at the deadline it names after any step, and aborts its signal when it ends', () => {
    const { clock, h, log } = host()
    const r = h.add(new Toy())
    h.step(r, () => ['started'])
    clock.advanceTo(99)
    expect(log).toEqual(['started'])
    r.machine.deadline = 150 // a step moved the deadline: the timer follows
    h.step(r, () => [])
    clock.advanceTo(120)
    expect(log).toEqual(['started'])
    clock.advanceTo(150)
    expect(log).toEqual(['started', 'ended'])
    expect(h.size).toBe(0)
    expect(r.signal.aborted).toBe(true)
    expect(clock.pending).toBe(0)
  })

  it('remembers only messages its machine accepted: a refused one gets the machine’s answer again, an accepted one is a replay', () => {
    const { h, rejected, log } = host()
    const r = h.add(new Toy())
    const odd = join(1, '1')
    h.deliver(r, odd, (m, x) => m.apply(x as Signed<'Join'>))
    h.deliver(r, odd, (m, x) => m.apply(x as Signed<'Join'>))
    expect(rejected).toEqual(['BAD_TICKET', 'BAD_TICKET'])
    const even = join(2, '2')
    h.deliver(r, even, (m, x) => m.apply(x as Signed<'Join'>))
    h.deliver(r, even, (m, x) => m.apply(x as Signed<'Join'>))
    expect(rejected).toEqual(['BAD_TICKET', 'BAD_TICKET', 'REPLAY'])
    expect(log).toEqual(['applied'])
  })

  it('contains a bug in a step: reported as a bug, never as the peer’s fault, and the round keeps its timer', () => {
    const { clock, h, rejected, bugs, log } = host()
    const r = h.add(new Toy())
    h.deliver(r, join(3, '666'), (m, x) => m.apply(x as Signed<'Join'>))
    expect(bugs).toHaveLength(1)
    expect(rejected).toEqual([])
    clock.advanceTo(100)
    expect(log).toEqual(['ended'])
  })
})

describe('bounded tables', () => {
  it('BoundedMap forgets the least recently set entry past its size', () => {
    const m = new BoundedMap<string, number>(3)
    for (const [k, v] of [['a', 1], ['b', 2], ['c', 3]] as const) m.set(k, v)
    m.set('a', 10)
    m.set('d', 4)
    expect([m.has('a'), m.has('b'), m.has('c'), m.has('d'), m.size]).toEqual([true, false, true, true, 3])
  })

  it('PeerPenalties bans a peer that reaches the limit, forgives slowly, and lifts the ban after its time', () => {
    let t = 0
    const p = new PeerPenalties({ limit: 5, halfLifeMs: 1_000, banMs: 10_000, now: () => t })
    for (let i = 0; i < 4; i++) expect(p.penalize('x')).toBe(false)
    t += 3_000 // four points decay to half a point
    for (let i = 0; i < 4; i++) expect(p.penalize('x')).toBe(false)
    expect(p.penalize('x')).toBe(true)
    expect(p.banned('x')).toBe(true)
    expect(p.banned('y')).toBe(false)
    t += 10_000
    expect(p.banned('x')).toBe(false)
  })
})
