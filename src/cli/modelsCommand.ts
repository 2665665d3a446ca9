import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { PullError, pullModel } from '../models/modelPull.js'
import { ConfigError } from './modelSpec.js'
import { ProgressBar } from './progressBar.js'

export const MODELS_HELP = `chorus models pull <url | hf:owner/repo/file.gguf[@revision]> [--dir models] [--sha256 HEX]
chorus models list [--dir models]

pull downloads a GGUF model into the models folder (./models, where chorus up and demo look),
with a progress bar; an interrupted pull resumes where it stopped when run again. The file is
kept only when it is whole, a GGUF file, and matches its SHA-256 (--sha256, or the one Hugging
Face gives). Offline it fails within 10 s and says why.
list shows the GGUF files in the folder with their sizes.
`

const MIB = 1024 * 1024

export async function modelsCommand(args: string[], signal: AbortSignal, out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { dir: { type: 'string' }, sha256: { type: 'string' } } })
  const [verb, spec, ...rest] = positionals
  const dir = values.dir ?? 'models'
  if (verb === 'list') {
    const files = await readdir(dir).catch(() => [] as string[])
    const ggufs = files.filter((f) => f.endsWith('.gguf')).sort()
    if (ggufs.length === 0) out(`no GGUF models in ${dir}/ (chorus models pull <url | hf:…> fetches one)\n`)
    for (const f of ggufs) out(`${f}  ${((await stat(join(dir, f))).size / MIB).toFixed(1)} MiB\n`)
    return 0
  }
  if (verb !== 'pull' || spec === undefined || rest.length > 0) throw new ConfigError('usage: chorus models pull <url | hf:owner/repo/file.gguf> | chorus models list')
  if (values.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(values.sha256)) throw new ConfigError('--sha256 takes 64 hex characters')
  const bar = new ProgressBar(`pulling ${spec}`, { lines: true })
  try {
    const p = await pullModel(spec, {
      dir,
      signal,
      ...(values.sha256 ? { sha256: values.sha256 } : {}),
      onProgress: (done, total) => bar.update(Math.floor(done / MIB), total === undefined ? Math.floor(done / MIB) : Math.ceil(total / MIB), 'MiB'),
    })
    bar.finish()
    out(`${p.path}: ${(p.bytes / MIB).toFixed(1)} MiB${p.resumedFrom > 0 ? ` (resumed at ${(p.resumedFrom / MIB).toFixed(1)} MiB)` : ''}, sha256 ${p.sha256}\n`)
    return 0
  } catch (err) {
    bar.finish()
    if (err instanceof PullError) throw new ConfigError(err.message)
    throw err
  }
}
