import { parentPort } from 'node:worker_threads'
import { PublicKeyCache, SignatureVerifier } from '../crypto/identity.js'
import { openEnvelope } from './envelope.js'
import { ProtocolError } from './errors.js'
import type { OpenJob, OpenReply } from './openerPool.js'

/**
 * One thread of an EnvelopeOpenerPool: opens each envelope of a job exactly as a node opens a
 * message off the wire (size, UTF-8, schema, canonical form, then the signature with libsodium)
 * and answers with each one's hash (seals and the transcript root need them) or the first
 * failure. Its key cache lives as long as the thread.
 */
const verifier = new SignatureVerifier(new PublicKeyCache())

parentPort!.on('message', (job: OpenJob) => {
  const hashes: string[] = []
  let reply: OpenReply = { id: job.id, hashes }
  for (let i = 0; i < job.texts.length; i++) {
    try {
      hashes.push(openEnvelope(Buffer.from(job.texts[i]!, 'utf8'), verifier).hash)
    } catch (err) {
      const known = err instanceof ProtocolError
      reply = { id: job.id, failed: { index: i, code: known ? err.code : 'MALFORMED', message: known ? err.message : String(err) } }
      break
    }
  }
  parentPort!.postMessage(reply)
})
