import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { ModelBackend } from '../models/backend.js'
import { type LlamaRuntime, LlamaCppBackend, createLlamaRuntime } from '../models/llamaCpp.js'
import { InstantBackend } from '../models/instant.js'
import { OpenAIHttpBackend } from '../models/openaiHttp.js'
import { tinyGguf } from '../models/tinyGguf.js'

/**
 * Model specifications as written on the command line or in a config file:
 *   ./path/model.gguf                  a local GGUF file, run in-process
 *   ollama:<model>                     an Ollama server on 127.0.0.1:11434
 *   openai:<base url>#<model>          any OpenAI-compatible server (key from OPENAI_API_KEY)
 */
export type ModelSpec =
  | { kind: 'gguf'; path: string }
  | { kind: 'http'; baseUrl: string; model: string; name: string }
  /** `test:instant`: the InstantBackend, for tests and benchmarks of the protocol only. */
  | { kind: 'instant' }

export class ConfigError extends Error {
  readonly code = 'CONFIG'
}

export function parseModelSpec(spec: string): ModelSpec {
  if (spec === 'test:instant') return { kind: 'instant' }
  if (spec.startsWith('ollama:')) {
    const model = spec.slice('ollama:'.length)
    if (model === '') throw new ConfigError(`'${spec}': name the Ollama model, e.g. ollama:qwen3:4b`)
    return { kind: 'http', baseUrl: 'http://127.0.0.1:11434/v1', model, name: spec }
  }
  if (spec.startsWith('openai:')) {
    const rest = spec.slice('openai:'.length)
    const hash = rest.lastIndexOf('#')
    if (hash < 0 || hash === rest.length - 1) throw new ConfigError(`'${spec}': write openai:<base url>#<model>, e.g. openai:http://127.0.0.1:8080/v1#qwen3`)
    const baseUrl = rest.slice(0, hash)
    try {
      new URL(baseUrl)
    } catch {
      throw new ConfigError(`'${spec}': '${baseUrl}' is not a URL`)
    }
    return { kind: 'http', baseUrl, model: rest.slice(hash + 1), name: spec }
  }
  if (spec.endsWith('.gguf')) return { kind: 'gguf', path: resolve(spec) }
  throw new ConfigError(`'${spec}' is not a model: give a .gguf file, ollama:<model> or openai:<url>#<model>`)
}

/** Builds backends; in-process models share one llama.cpp runtime (and its semaphore). */
export class BackendFactory {
  private runtime: Promise<LlamaRuntime> | undefined
  private readonly loaded: LlamaCppBackend[] = []

  async create(spec: ModelSpec, name?: string, maxAnswerTokens = 256, nodeId = ''): Promise<ModelBackend> {
    if (spec.kind === 'instant') return new InstantBackend(nodeId)
    if (spec.kind === 'http') {
      return new OpenAIHttpBackend({ baseUrl: spec.baseUrl, model: spec.model, name: spec.name, apiKey: process.env.OPENAI_API_KEY })
    }
    this.runtime ??= createLlamaRuntime()
    const b = await LlamaCppBackend.load(await this.runtime, { modelPath: spec.path, maxAnswerTokens, ...(name ? { name } : {}) })
    this.loaded.push(b)
    return b
  }

  async close(): Promise<void> {
    for (const b of this.loaded) await b.close()
  }
}

/** GGUF files in ./models, if that folder exists: models found without configuration. */
export async function findLocalModels(dir = 'models'): Promise<string[]> {
  try {
    if (!(await stat(dir)).isDirectory()) return []
    return (await readdir(dir)).filter((f) => f.endsWith('.gguf')).sort().map((f) => join(dir, f))
  } catch {
    return []
  }
}

/** Writes (once) n different tiny random-weight models and returns their paths. */
export async function tinyModels(n: number, dir = join(tmpdir(), 'chorus-tiny-models'), label = 'demo'): Promise<string[]> {
  await mkdir(dir, { recursive: true })
  const paths: string[] = []
  for (let i = 0; i < n; i++) {
    const path = join(dir, `tiny-${label}-${i}.gguf`)
    try {
      await stat(path)
    } catch {
      // Write then rename, so a process reading the cache never sees half a file.
      const tmp = `${path}.${process.pid}.tmp`
      await writeFile(tmp, tinyGguf({ seed: `${label}-${i}` }))
      await rename(tmp, path)
    }
    paths.push(path)
  }
  return paths
}

/** Random weights say nothing worth waiting for: keep their answers short. */
export const TINY_ANSWER_TOKENS = 32

export const TINY_WARNING = [
  'NOTE: no model is configured, so this swarm runs on tiny generated models with random weights.',
  '      Their answers and verdicts are meaningless; the protocol around them is real.',
  '      Point it at real models: --model ./model.gguf, --model ollama:qwen3:4b,',
  '      --model openai:http://127.0.0.1:8080/v1#model, or put .gguf files in ./models.',
].join('\n')

/**
 * One backend per node: the configured specs round-robin (one HTTP client per spec; an in-process
 * model is loaded per node, each with its own context), else ./models/*.gguf, else tiny generated
 * models. Every backend is checked before it is returned, so a dead server fails now, clearly.
 */
/** `progress`: told each model as it loads (`chorus up` prints it: a large GGUF takes a while). */
export async function buildBackends(factory: BackendFactory, models: readonly string[], nodes: number, progress?: (line: string) => void): Promise<{ backends: ModelBackend[]; tiny: boolean }> {
  const found = models.length === 0 ? await findLocalModels() : []
  const specs = (models.length > 0 ? models : found).map(parseModelSpec)
  const backends: ModelBackend[] = []
  if (specs.length === 0) {
    for (const [i, path] of (await tinyModels(nodes)).entries()) {
      progress?.(`loading model ${i + 1}/${nodes}: tiny-random-${i}`)
      backends.push(await factory.create({ kind: 'gguf', path }, `tiny-random-${i}`, TINY_ANSWER_TOKENS))
    }
    return { backends, tiny: true }
  }
  const http = new Map<number, ModelBackend>()
  for (let i = 0; i < nodes; i++) {
    const k = i % specs.length
    const spec = specs[k]!
    const existing = http.get(k)
    if (existing) backends.push(existing)
    else {
      const t0 = performance.now()
      progress?.(`loading model ${i + 1}/${nodes}: ${models.length > 0 ? models[k] : found[k]}`)
      const b = await factory.create(spec)
      if (spec.kind === 'gguf') progress?.(`  loaded ${b.name} in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
      if (spec.kind === 'http') http.set(k, b)
      backends.push(b)
    }
  }
  await Promise.all([...new Set(backends)].map((b) => b.check?.()))
  return { backends, tiny: false }
}
