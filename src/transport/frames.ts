import { TransportError } from './transport.js'

/**
 * Length-prefixed frames on a byte stream: a 4-byte big-endian length, then that many bytes. The
 * decoder takes chunks as they arrive (split or merged anywhere) and refuses a frame over the limit
 * before buffering it.
 */
export function encodeFrame(data: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(4 + data.length)
  out.writeUInt32BE(data.length, 0)
  out.set(data, 4)
  return out
}

export class FrameDecoder {
  private buffer: Buffer = Buffer.alloc(0)

  constructor(private readonly maxFrameBytes: number) {}

  /** Feeds a chunk; returns the frames it completed. Throws OVERSIZED on a frame over the limit. */
  push(chunk: Uint8Array): Uint8Array[] {
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk])
    const frames: Uint8Array[] = []
    while (this.buffer.length >= 4) {
      const len = this.buffer.readUInt32BE(0)
      if (len > this.maxFrameBytes) throw new TransportError('OVERSIZED', `frame of ${len} bytes exceeds ${this.maxFrameBytes}`)
      if (this.buffer.length < 4 + len) break
      frames.push(this.buffer.subarray(4, 4 + len))
      this.buffer = this.buffer.subarray(4 + len)
    }
    return frames
  }
}
