import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { type Block, markdownBlocks } from './markdownBlocks.js'

/**
 * The evaluation reports an operator keeps in a folder (`--reports DIR`): each `chorus eval --out`
 * Markdown file as blocks, each `--chart` SVG as its text, newest first. Bounded in count and size
 * so a crowded folder cannot make the page heavy; read on each request, so a new report shows
 * without a restart. The folder is the operator's own; its files are still rendered only as text
 * (Markdown) or sanitized in the page (SVG).
 */
export interface EvalReport {
  name: string
  modified: number
  blocks: Block[]
  /** Charts whose file name starts with this report's name (gsm.md: gsm-sweep.svg). */
  charts: { name: string; svg: string }[]
}

export interface EvalReports {
  dir: string
  reports: EvalReport[]
  /** Charts that belong to no report. */
  charts: { name: string; svg: string }[]
  skipped: { name: string; reason: string }[]
}

export const MAX_REPORTS = 40
export const MAX_REPORT_BYTES = 512 * 1024

export async function readEvalReports(dir: string): Promise<EvalReports> {
  const names = (await readdir(dir)).filter((n) => /\.(md|svg)$/i.test(n))
  const files = await Promise.all(names.map(async (name) => ({ name, info: await stat(join(dir, name)).catch(() => undefined) })))
  const skipped: EvalReports['skipped'] = []
  const kept = files
    .filter((f): f is { name: string; info: NonNullable<typeof f.info> } => f.info !== undefined && f.info.isFile())
    .filter((f) => f.info.size <= MAX_REPORT_BYTES || (skipped.push({ name: f.name, reason: `larger than ${MAX_REPORT_BYTES / 1024} KiB` }), false))
    .sort((a, b) => b.info.mtimeMs - a.info.mtimeMs || (a.name < b.name ? -1 : 1))
    .slice(0, MAX_REPORTS)
  const read = await Promise.all(kept.map(async (f) => ({ name: f.name, modified: Math.round(f.info.mtimeMs), text: await readFile(join(dir, f.name), 'utf8') })))
  const charts = read.filter((f) => /\.svg$/i.test(f.name)).map((f) => ({ name: f.name, svg: f.text }))
  const claimed = new Set<string>()
  const reports = read
    .filter((f) => /\.md$/i.test(f.name))
    .map((f) => {
      const stem = f.name.replace(/\.md$/i, '')
      const own = charts.filter((c) => c.name.startsWith(stem))
      for (const c of own) claimed.add(c.name)
      return { name: f.name, modified: f.modified, blocks: markdownBlocks(f.text), charts: own }
    })
  return { dir, reports, charts: charts.filter((c) => !claimed.has(c.name)), skipped }
}
