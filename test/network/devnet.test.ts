import type { ServerResponse } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Devnet } from '../../src/cli/devnet.js'
import { hashParts } from '../../src/crypto/hash.js'
import { identityFromSeed } from '../../src/crypto/identity.js'
import { signEnvelope } from '../../src/protocol/envelope.js'
import { MAX_ENVELOPE_BYTES } from '../../src/protocol/limits.js'
import { genesisLedgerView } from '../../src/round/ledgerView.js'
import { verifyTranscript } from '../../src/round/verify.js'
import { createLibp2pTransport } from '../../src/transport/libp2p.js'
import { type Scripted, completion, scriptedServer, sendJson, sendSse } from '../models/scriptedServer.js'

/**
 * A real multi-process devnet on loopback: a gateway process and 4 node processes. Node 1's model
 * is a scripted OpenAI-compatible server whose answer delay each test sets; the others use the
 * instant test backend.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any
let answerDelayMs = 0
let model: Scripted
let net: Devnet
const ledger = genesisLedgerView()

const ask = async (content: string): Promise<Json> => {
  const res = await fetch(`${net.apiUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chorus-swarm', messages: [{ role: 'user', content }] }),
  })
  const body = await res.json()
  if (res.status !== 200) throw new Error(`${res.status}: ${JSON.stringify(body)}`)
  return body
}
const transcript = async (round: string) => (await fetch(`${net.apiUrl}/rounds/${round}`).then((r) => r.json())) as Json
const verified = async (round: string) => verifyTranscript((await transcript(round)).envelopes, { ledger })

beforeAll(async () => {
  model = await scriptedServer(
    (body, res: ServerResponse) => {
      const judge = body.logprobs === true || body.max_tokens === 3
      setTimeout(() => (body.stream === true ? sendSse(res, ['slow ', 'but sure']) : sendJson(res, 200, completion(judge ? 'A' : 'slow but sure'))), judge ? 0 : answerDelayMs)
    },
    ['m'],
  )
  net = new Devnet({ nodes: 4, model: 'test:instant', modelFor: (i) => (i === 1 ? `openai:${model.url}#m` : undefined), answerSeconds: 2 })
  await net.start()
}, 90_000)
afterAll(async () => {
  await net?.stop()
  await model?.close()
})

describe('a multi-process devnet', () => {
  it('completes rounds through the API, each transcript verifying', async () => {
    for (let r = 0; r < 2; r++) {
      const res = await ask(`question ${r}`)
      expect(res.chorus.ranked).toBe(true)
      expect(res.chorus.answers).toBe(4)
      expect((await verified(res.chorus.round)).outcome.winner).toBe(res.chorus.winner)
    }
  })

  it('drops a node whose model stalls past the answer deadline; the round completes without it', async () => {
    answerDelayMs = 3000
    const res = await ask('stall')
    answerDelayMs = 0
    expect(res.chorus.answers).toBe(3)
    expect(res.chorus.scores.map((s: { node: string }) => s.node)).not.toContain(net.nodes[1]!.id)
    expect((await verified(res.chorus.round)).outcome.scores).toHaveLength(3)
  }, 30_000)

  it('completes without a node killed (-9) after it committed, and the node rejoins after a restart', async () => {
    // Node 1 answers after 1.2 s, so node 0 has committed and is waiting for the seal when it dies.
    answerDelayMs = 1200
    const pending = ask('kill one')
    await new Promise((r) => setTimeout(r, 600))
    net.nodes[0]!.proc.kill('SIGKILL')
    const res = await pending
    answerDelayMs = 0
    const t = await transcript(res.chorus.round)
    const commits = t.envelopes.filter((e: Json) => e.type === 'AnswerCommit').map((e: Json) => e.from)
    const reveals = t.envelopes.filter((e: Json) => e.type === 'AnswerReveal').map((e: Json) => e.from)
    expect(commits).toContain(net.nodes[0]!.id)
    expect(reveals).not.toContain(net.nodes[0]!.id)
    expect((await verified(res.chorus.round)).outcome.scores).toHaveLength(3)
    await net.restart(0)
    await net.waitForNodes(4)
    const again = await ask('back again')
    expect(again.chorus.scores.map((s: { node: string }) => s.node)).toContain(net.nodes[0]!.id)
  }, 60_000)

  it('rejects forged, replayed, oversized and wrong-round messages on the wire, counts them, and keeps serving', async () => {
    const attackerSeed = Buffer.from(hashParts('attacker'), 'hex')
    const attacker = await createLibp2pTransport({ seed: attackerSeed, bootstrap: [net.p2pAddr] })
    try {
      const mallory = identityFromSeed(attackerSeed)
      const victim = net.nodes[2]!.id
      const round = 'ab'.repeat(32)
      const join = signEnvelope(mallory, { type: 'Join', round, seq: 0, body: { ticket: '0' } })
      const forged = Buffer.from(join.wire.toString().replace(mallory.id, victim))
      const send = async (data: Uint8Array) => {
        for (let k = 0; k < 50; k++) {
          if (await attacker.send(net.gatewayId, data).then(() => true, () => false)) return
          await new Promise((r) => setTimeout(r, 100))
        }
        throw new Error('could not reach the gateway')
      }
      await send(forged)
      await send(join.wire)
      await send(join.wire)
      await send(Buffer.alloc(MAX_ENVELOPE_BYTES + 500, 0x20))
      const metricsUrl = net.apiUrl.replace(/\/v1$/, '/metrics')
      let metrics = ''
      for (let k = 0; k < 50; k++) {
        metrics = await fetch(metricsUrl).then((r) => r.text())
        if (/reason="WRONG_ROUND"\} [2-9]/.test(metrics) && /reason="OVERSIZED"/.test(metrics)) break
        await new Promise((r) => setTimeout(r, 100))
      }
      // A replay of a message for a round that does not exist is just another wrong-round message:
      // only what a round accepted is remembered, so junk cannot grow the replay memory.
      for (const reason of ['BAD_SIGNATURE', 'WRONG_ROUND', 'OVERSIZED']) {
        expect(metrics).toMatch(new RegExp(`chorus_protocol_rejections_total\\{reason="${reason}"\\} [1-9]`))
      }
      expect(metrics).toMatch(/chorus_protocol_rejections_total\{reason="WRONG_ROUND"\} [2-9]/)
      expect((await ask('still up?')).chorus.ranked).toBe(true)
    } finally {
      await attacker.close()
    }
  }, 30_000)
})
