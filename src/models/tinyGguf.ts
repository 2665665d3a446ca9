import { SeededRandom } from '../consensus/prng.js'
import { hashParts } from '../crypto/hash.js'

/**
 * Writes a tiny GGUF model: the `llama` architecture with random weights and a byte vocabulary
 * (the three specials plus one token per byte, SentencePiece byte fallback). It loads and runs in
 * llama.cpp like any model, in a few milliseconds, and says nothing meaningful: it exists so that
 * tests, benchmarks and the demo's fallback can run real inference offline. Different seeds give
 * different models.
 *
 * GGUF v3 layout: header, metadata key/values, tensor infos, padding, tensor data (each tensor
 * aligned to 32 bytes). Tensor shapes are written innermost dimension first, as ggml does.
 */
export interface TinyModelOptions {
  seed: string
  embedding?: number
  layers?: number
  heads?: number
  feedForward?: number
  contextLength?: number
}

const ALIGN = 32
const T = { UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9 } as const
const GGML_F32 = 0

type Meta = [key: string, type: number, value: unknown, elementType?: number]

export function tinyGguf(options: TinyModelOptions): Buffer {
  const d = options.embedding ?? 64
  const layers = options.layers ?? 2
  const heads = options.heads ?? 4
  const ff = options.feedForward ?? 128
  const ctx = options.contextLength ?? 4096
  const tokens = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)]
  const vocab = tokens.length
  const meta: Meta[] = [
    ['general.architecture', T.STRING, 'llama'],
    ['general.name', T.STRING, `chorus-tiny-${options.seed}`],
    ['general.alignment', T.UINT32, ALIGN],
    ['llama.context_length', T.UINT32, ctx],
    ['llama.embedding_length', T.UINT32, d],
    ['llama.block_count', T.UINT32, layers],
    ['llama.feed_forward_length', T.UINT32, ff],
    ['llama.attention.head_count', T.UINT32, heads],
    ['llama.attention.head_count_kv', T.UINT32, heads],
    ['llama.rope.dimension_count', T.UINT32, d / heads],
    ['llama.attention.layer_norm_rms_epsilon', T.FLOAT32, 1e-5],
    ['llama.vocab_size', T.UINT32, vocab],
    ['tokenizer.ggml.model', T.STRING, 'llama'],
    ['tokenizer.ggml.tokens', T.ARRAY, tokens, T.STRING],
    ['tokenizer.ggml.scores', T.ARRAY, tokens.map(() => 0), T.FLOAT32],
    ['tokenizer.ggml.token_type', T.ARRAY, tokens.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : 6)), T.INT32],
    ['tokenizer.ggml.unknown_token_id', T.UINT32, 0],
    ['tokenizer.ggml.bos_token_id', T.UINT32, 1],
    ['tokenizer.ggml.eos_token_id', T.UINT32, 2],
    ['tokenizer.ggml.add_bos_token', T.BOOL, true],
  ]
  const rng = new SeededRandom(hashParts('tiny-gguf', options.seed))
  const random = (n: number, scale: number) => {
    const a = new Float32Array(n)
    for (let i = 0; i < n; i++) a[i] = (rng.nextU32() / 2 ** 32 - 0.5) * 2 * scale
    return a
  }
  const ones = (n: number) => new Float32Array(n).fill(1)
  const tensors: [name: string, dims: number[], data: Float32Array][] = [
    ['token_embd.weight', [d, vocab], random(d * vocab, 0.5)],
    ['output_norm.weight', [d], ones(d)],
    ['output.weight', [d, vocab], random(d * vocab, 0.5)],
  ]
  for (let l = 0; l < layers; l++) {
    const w = (name: string, dims: number[]) => tensors.push([`blk.${l}.${name}.weight`, dims, random(dims[0]! * (dims[1] ?? 1), 0.2)])
    tensors.push([`blk.${l}.attn_norm.weight`, [d], ones(d)], [`blk.${l}.ffn_norm.weight`, [d], ones(d)])
    w('attn_q', [d, d])
    w('attn_k', [d, d])
    w('attn_v', [d, d])
    w('attn_output', [d, d])
    w('ffn_gate', [d, ff])
    w('ffn_up', [d, ff])
    w('ffn_down', [ff, d])
  }
  const out = new Writer()
  out.bytes(Buffer.from('GGUF'))
  out.u32(3)
  out.u64(tensors.length)
  out.u64(meta.length)
  for (const [key, type, value, elementType] of meta) {
    out.str(key)
    out.u32(type)
    out.value(type, value, elementType)
  }
  let offset = 0
  for (const [name, dims, data] of tensors) {
    out.str(name)
    out.u32(dims.length)
    for (const dim of dims) out.u64(dim)
    out.u32(GGML_F32)
    out.u64(offset)
    offset += pad(data.byteLength)
  }
  out.align()
  for (const [, , data] of tensors) {
    out.bytes(Buffer.from(data.buffer, data.byteOffset, data.byteLength))
    out.align()
  }
  return out.done()
}

const pad = (n: number) => Math.ceil(n / ALIGN) * ALIGN

class Writer {
  private readonly parts: Buffer[] = []
  private length = 0

  bytes(b: Buffer): void {
    this.parts.push(b)
    this.length += b.length
  }

  u32(v: number): void {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(v)
    this.bytes(b)
  }

  u64(v: number): void {
    const b = Buffer.alloc(8)
    b.writeBigUInt64LE(BigInt(v))
    this.bytes(b)
  }

  str(s: string): void {
    const b = Buffer.from(s, 'utf8')
    this.u64(b.length)
    this.bytes(b)
  }

  value(type: number, v: unknown, elementType?: number): void {
    switch (type) {
      case T.UINT32:
        return this.u32(v as number)
      case T.INT32: {
        const b = Buffer.alloc(4)
        b.writeInt32LE(v as number)
        return this.bytes(b)
      }
      case T.FLOAT32: {
        const b = Buffer.alloc(4)
        b.writeFloatLE(v as number)
        return this.bytes(b)
      }
      case T.BOOL:
        return this.bytes(Buffer.from([v ? 1 : 0]))
      case T.STRING:
        return this.str(v as string)
      case T.ARRAY: {
        const items = v as unknown[]
        this.u32(elementType!)
        this.u64(items.length)
        for (const item of items) this.value(elementType!, item)
        return
      }
      default:
        throw new RangeError(`unsupported GGUF value type ${type}`)
    }
  }

  align(): void {
    const rem = this.length % ALIGN
    if (rem !== 0) this.bytes(Buffer.alloc(ALIGN - rem))
  }

  done(): Buffer {
    return Buffer.concat(this.parts)
  }
}
