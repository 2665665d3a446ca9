import { type ChildProcess, spawn } from 'node:child_process'
import type { ServerResponse } from 'node:http'
import { readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Devnet } from '../../src/cli/devnet.js'
import { hashParts } from '../../src/crypto/hash.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { QUERY_TOPIC } from '../../src/protocol/limits.js'
import { CoordinatorRound } from '../../src/round/coordinator.js'
import { genesisLedgerView } from '../../src/round/ledgerView.js'
import { createLibp2pTransport } from '../../src/transport/libp2p.js'
import { completion, type Scripted, scriptedServer, sendJson, sendSse } from '../models/scriptedServer.js'

/**
 * Faults on a real multi-process devnet (a gateway and 5 node processes on loopback, supervised as
 * `chorus devnet` runs them), as an operator and an attacker would cause them: a node killed under
 * load, a node stopped and continued, the gateway killed and restarted, hostile Queries from an
 * unknown key, requests that give up. After each: every request got an answer or a clean error
 * before its deadline, the network serves again within seconds, and no node holds a round past
 * its deadline. Nodes hold at most as many rounds per gateway as the gateway runs, so a round
 * that never ends shows at once as a refused request.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any
const ANSWER_S = 3
/** A round's whole length: join 1 s, answer, reveal 5 s, judge, verdict reveal 5 s. */
const ROUND_MS = 1_000 + 2 * ANSWER_S * 1_000 + 10_000
const GRACE_MS = 2_000
let slowMs = 0
let model: Scripted
let net: Devnet
const events: string[] = []

beforeAll(async () => {
  model = await scriptedServer((body, res: ServerResponse) => {
    const judge = body.logprobs === true || body.max_tokens === 3
    const reply = () => (body.stream === true ? sendSse(res, ['an ', 'answer']) : sendJson(res, 200, completion(judge ? 'A' : 'an answer')))
    if (judge || slowMs === 0) reply()
    else setTimeout(reply, slowMs)
  }, ['m'])
  net = new Devnet({ nodes: 5, model: `openai:${model.url}#m`, answerSeconds: ANSWER_S, nodeArgs: ['--per-gateway', '4'], supervise: true, onEvent: (l) => events.push(l) })
  await net.start()
}, 90_000)
afterAll(async () => {
  await net?.stop()
  await model?.close()
})

interface Answer {
  status: number
  ms: number
  body: Json
}

/** One request; its answer must come before the round's last deadline (plus transit). */
async function ask(content: string, extra: object = {}, signal?: AbortSignal): Promise<Answer> {
  const t0 = performance.now()
  try {
    const res = await fetch(`${net.apiUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content }], ...extra }),
      signal: signal ?? AbortSignal.timeout(ROUND_MS + 5_000),
    })
    return { status: res.status, ms: performance.now() - t0, body: await res.json() }
  } catch (err) {
    return { status: 0, ms: performance.now() - t0, body: String(err) }
  }
}

/** An answer or a clean error: 200, or an OpenAI-shaped 503/504. */
function clean(a: Answer): boolean {
  return a.status === 200 || ((a.status === 503 || a.status === 504) && typeof a.body?.error?.message === 'string')
}

/** Seconds until a request succeeds again. */
async function servesWithin(limitMs: number): Promise<number> {
  const t0 = performance.now()
  for (let k = 0; ; k++) {
    const a = await ask(`probe ${k}`, {}, AbortSignal.timeout(3_000))
    if (a.status === 200) return (performance.now() - t0) / 1000
    if (performance.now() - t0 > limitMs) throw new Error(`not serving after ${limitMs} ms: last ${a.status} ${JSON.stringify(a.body).slice(0, 200)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Every node reports holding no round (nodes report their state every second when it changes). */
async function nobodyHoldsARound(withinMs: number): Promise<void> {
  const end = Date.now() + withinMs
  for (;;) {
    const nodes = (await fetch(`${net.apiUrl}/nodes`).then((r) => r.json())) as Json
    const held = nodes.data.map((n: Json) => n.activeRounds)
    if (nodes.data.length === 5 && held.every((h: number) => h === 0)) return
    if (Date.now() > end) throw new Error(`nodes still hold rounds: ${JSON.stringify(held)}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

describe('faults on a multi-process devnet', () => {
  it('a node killed (-9) under load: every request ends cleanly, the devnet restarts the node, and it serves with all five again', async () => {
    slowMs = 500
    const load = Array.from({ length: 8 }, (_, i) => ask(`kill ${i}`))
    await new Promise((r) => setTimeout(r, 300))
    net.nodes[0]!.proc.kill('SIGKILL')
    const answers = await Promise.all(load)
    slowMs = 0
    expect(answers.every(clean)).toBe(true)
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThanOrEqual(4)
    for (const a of answers) expect(a.ms).toBeLessThan(ROUND_MS + 2_000)
    await net.waitForNodes(5, 15_000)
    expect(events.some((e) => e.startsWith('node-0 exited (SIGKILL)'))).toBe(true)
    await servesWithin(5_000)
    await nobodyHoldsARound(ROUND_MS)
  }, 60_000)

  it('a node stopped (SIGSTOP) costs each round only its answer, and after SIGCONT it drops its stale rounds and serves again', async () => {
    net.nodes[1]!.proc.kill('SIGSTOP')
    try {
      const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => ask(`stopped ${i}`)))
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200])
      for (const a of answers) expect(a.body.chorus.answers).toBe(4)
    } finally {
      net.nodes[1]!.proc.kill('SIGCONT')
    }
    await servesWithin(5_000)
    await nobodyHoldsARound(GRACE_MS + 5_000)
    const again = await ask('all back')
    expect(again.body.chorus.answers).toBe(5)
  }, 60_000)

  it('the gateway killed (-9) mid-round and restarted: nodes drop its dead rounds at its first new Query, and it serves within 5 s', async () => {
    slowMs = 20_000 // the killed gateway's rounds stay in their answer phase: every node is full of them
    const load = Array.from({ length: 4 }, (_, i) => ask(`doomed ${i}`))
    await new Promise((r) => setTimeout(r, 1_500))
    slowMs = 0
    const killedAt = performance.now()
    net.gatewayProc!.kill('SIGKILL')
    const answers = await Promise.all(load)
    expect(answers.every((a) => a.status === 0 && a.ms < ROUND_MS)).toBe(true) // the connection died with it
    await new Promise<void>((resolve) => {
      const check = () => (events.some((e) => e.startsWith('gateway restarting')) ? resolve() : setTimeout(check, 20))
      check()
    })
    const restartedAt = performance.now()
    await servesWithin(10_000)
    expect((performance.now() - restartedAt) / 1000).toBeLessThan(5)
    expect((performance.now() - killedAt) / 1000).toBeLessThan(8)
    await nobodyHoldsARound(5_000)
  }, 60_000)

  it('hostile Queries from an unknown key take at most a gateway’s share of each node, for seconds; forged ones are rejected before they spread', async () => {
    const seed = Buffer.from(hashParts('hostile-coordinator'), 'hex')
    const mallory = identityFromSeed(seed)
    const attacker = await createLibp2pTransport({ seed, bootstrap: net.nodes.flatMap((n) => n.addrs.slice(0, 1)) })
    try {
      for (let k = 0; k < 100 && attacker.subscribers(QUERY_TOPIC).length < 5; k++) await new Promise((r) => setTimeout(r, 100))
      expect(attacker.subscribers(QUERY_TOPIC).length).toBe(5)
      const now = Date.now()
      for (let s = 1; s <= 12; s++) {
        const { round } = CoordinatorRound.start(
          { identity: mallory, ledger: genesisLedgerView() },
          { coordSeq: now + s, since: now + 1, messages: [{ role: 'user', content: `squat ${s}` }], minMembers: 3, maxMembers: 5, durations: { join: 1_000, commit: 60_000, reveal: 1_000, verdictCommit: 1_000, verdictReveal: 1_000 } },
          hashParts('r0', String(s)),
          now,
        )
        await attacker.publish(QUERY_TOPIC, s % 4 === 0 ? Buffer.from(round.query.wire.toString().replace('squat', 'squit')) : round.query.wire)
      }
      // Every node took 4 of the 9 genuine ones (its share for one gateway) and declined 5; the 3
      // forged ones were refused by the gossip validator. (Nodes report within a second or two.)
      const end = Date.now() + 10_000
      for (;;) {
        const nodes = ((await fetch(`${net.apiUrl}/nodes`).then((r) => r.json())) as Json).data
        const ok = nodes.length === 5 && nodes.every((n: Json) => n.declined.coordinator === 9 - 4 && n.rejected >= 3)
        if (ok) break
        if (Date.now() > end) throw new Error(`nodes report ${JSON.stringify(nodes.map((n: Json) => [n.activeRounds, n.declined.coordinator, n.rejected]))}`)
        await new Promise((r) => setTimeout(r, 200))
      }
      // Real requests still run while the squatter's rounds are held.
      const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => ask(`besieged ${i}`)))
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200])
      // The squatter never seals: its rounds end at its join deadline plus the grace.
      await nobodyHoldsARound(1_000 + GRACE_MS + 3_000)
    } finally {
      await attacker.close()
    }
  }, 60_000)

  it('requests that give up (timeout_ms, a closed connection) leave nothing behind', async () => {
    slowMs = 300
    const timedOut = await Promise.all(Array.from({ length: 8 }, (_, i) => ask(`hurry ${i}`, { chorus: { timeout_ms: 1 } })))
    expect(timedOut.map((a) => a.status)).toEqual(Array.from({ length: 8 }, () => 504))
    const gaveUp = Array.from({ length: 8 }, (_, i) => {
      const ac = new AbortController()
      setTimeout(() => ac.abort(), 100)
      return ask(`bye ${i}`, {}, ac.signal)
    })
    await Promise.all(gaveUp)
    slowMs = 0
    await servesWithin(3_000)
    await nobodyHoldsARound(GRACE_MS + 3_000)
  }, 60_000)
})

describe('the devnet as a process', () => {
  it('killed with SIGKILL, it takes its gateway and nodes with it, and never wrote a key to disk', async () => {
    const before = (await readdir(tmpdir())).filter((f) => f.startsWith('chorus-devnet-'))
    const parent: ChildProcess = spawn(process.execPath, ['dist/src/cli/main.js', 'devnet', '--nodes', '3', '--port', '0', '--model', 'test:instant'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    parent.stdout!.on('data', (d) => (out += d))
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`devnet did not start: ${out}`)), 60_000)
      parent.stdout!.on('data', () => {
        if (/Ctrl-C stops them all/.test(out)) {
          clearTimeout(t)
          resolve()
        }
      })
    })
    const pids = [...out.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]))
    expect(pids).toHaveLength(4)
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0)
        return true
      } catch {
        return false
      }
    }
    expect(pids.every(alive)).toBe(true)
    parent.kill('SIGKILL')
    for (let k = 0; k < 100 && pids.some(alive); k++) await new Promise((r) => setTimeout(r, 100))
    expect(pids.filter(alive)).toEqual([])
    expect((await readdir(tmpdir())).filter((f) => f.startsWith('chorus-devnet-'))).toEqual(before)
  }, 90_000)
})
