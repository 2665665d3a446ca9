/** Quality: the operator's `chorus eval` reports, and this gateway's latency, throughput and queue. */
import { api } from './api.js'
import { latencyChart, safeSvg } from './charts.js'
import { type Child, fixed, h, replace } from './dom.js'

type Block =
  | { kind: 'heading'; level: number; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; header: string[]; rows: string[][] }
  | { kind: 'code'; text: string }
interface Chart {
  name: string
  svg: string
}
interface Quality {
  latency: { rounds: number; per_phase: Record<string, { p50: number | null; p95: number | null; n: number }>; rounds_per_minute: number | null }
  queue: { running: number; waiting: number }
  reports: { dir: string; reports: { name: string; modified: number; blocks: Block[]; charts: Chart[] }[]; charts: Chart[]; skipped: { name: string; reason: string }[] } | { dir: string; error: string } | null
}

export async function qualityPage(main: HTMLElement): Promise<void> {
  const q = await api<Quality>('/v1/dashboard/quality')
  const l = q.latency
  replace(
    main,
    h('h1', {}, 'Quality'),
    h('h2', {}, 'Latency and throughput'),
    h(
      'div',
      { class: 'cards' },
      h('div', { class: 'card' }, h('b', {}, l.rounds), 'rounds kept'),
      h('div', { class: 'card' }, h('b', {}, l.per_phase.total?.p50 ?? '–', ' ms'), 'p50 round'),
      h('div', { class: 'card' }, h('b', {}, l.per_phase.total?.p95 ?? '–', ' ms'), 'p95 round'),
      h('div', { class: 'card' }, h('b', {}, fixed(l.rounds_per_minute, 1)), 'rounds per minute'),
      h('div', { class: 'card' }, h('b', {}, `${q.queue.running} + ${q.queue.waiting}`), 'running + queued'),
    ),
    l.rounds === 0 ? h('p', { class: 'muted' }, 'No rounds yet.') : h('div', {}, latencyChart(l.per_phase)),
    h('h2', {}, 'Evaluation reports'),
    ...reports(q.reports),
  )
}

function reports(r: Quality['reports']): Child[] {
  if (r === null) return [h('p', { class: 'muted' }, 'No reports folder: start the gateway with --reports DIR, and write reports there with chorus eval … --out DIR/name.md --chart DIR/name.svg.')]
  if ('error' in r) return [h('p', { class: 'error' }, r.error)]
  if (r.reports.length === 0 && r.charts.length === 0) return [h('p', { class: 'muted' }, `No reports in ${r.dir} yet.`)]
  return [
    ...r.reports.map((rep) => h('article', { class: 'panel report', 'data-report': rep.name }, h('p', { class: 'muted' }, rep.name, ' · ', new Date(rep.modified).toLocaleString()), ...rep.blocks.map(block), ...rep.charts.map(chart))),
    ...r.charts.map(chart),
    ...r.skipped.map((s) => h('p', { class: 'muted' }, `${s.name}: not shown (${s.reason})`)),
  ]
}

function block(b: Block): HTMLElement {
  switch (b.kind) {
    case 'heading':
      return h(b.level <= 2 ? 'h2' : 'h3', {}, b.text)
    case 'paragraph':
      return h('p', {}, b.text)
    case 'list':
      return h('ul', {}, ...b.items.map((i) => h('li', {}, i)))
    case 'code':
      return h('pre', {}, h('code', {}, b.text))
    case 'table':
      return h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ...b.header.map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, ...b.rows.map((row) => h('tr', {}, ...row.map((c) => h('td', {}, c)))))))
  }
}

function chart(c: Chart): HTMLElement {
  const svg = safeSvg(c.svg)
  return h('figure', { class: 'chart' }, svg ?? h('p', { class: 'muted' }, `${c.name}: not an SVG image`), h('figcaption', { class: 'muted' }, c.name))
}
