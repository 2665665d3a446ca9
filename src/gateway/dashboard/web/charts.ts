/**
 * The dashboard's charts, drawn as SVG elements (attributes only; colours come from the stylesheet):
 * scores with their intervals, the comparison graph of a round, and per-phase latency bars.
 */
import { s } from './dom.js'

export interface ScoredAnswer {
  node: string
  score: number | null
  lo: number | null
  hi: number | null
}

/** One row per answer: a dot at its score and a bar over its confidence interval, on a shared axis. */
export function scoreChart(answers: readonly ScoredAnswer[], winner: string): SVGElement {
  const rows = answers.filter((a) => a.score !== null)
  const W = 520
  const rowH = 22
  const left = 96
  const H = rows.length * rowH + 28
  const xs = rows.flatMap((a) => [a.lo ?? a.score!, a.hi ?? a.score!, a.score!])
  const min = Math.min(0, ...xs)
  const max = Math.max(0.001, ...xs)
  const x = (v: number) => left + ((v - min) / (max - min || 1)) * (W - left - 16)
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': 'Scores with 95 % intervals' })
  svg.appendChild(s('line', { class: 'axis', x1: x(0), x2: x(0), y1: 4, y2: H - 20 }))
  rows.forEach((a, i) => {
    const y = 14 + i * rowH
    svg.appendChild(s('text', { x: 4, y: y + 4 }, `${a.node.slice(0, 10)}${a.node === winner ? ' ★' : ''}`))
    svg.appendChild(s('line', { class: 'interval', x1: x(a.lo ?? a.score!), x2: x(a.hi ?? a.score!), y1: y, y2: y }))
    svg.appendChild(s('circle', { class: 'bar', cx: x(a.score!), cy: y, r: 4 }))
  })
  svg.appendChild(s('text', { x: x(min), y: H - 6 }, min.toFixed(2)))
  svg.appendChild(s('text', { x: x(max) - 30, y: H - 6 }, max.toFixed(2)))
  return svg
}

export interface Pair {
  a: string
  b: string
  a_wins: number
  b_wins: number
  ties: number
}

/** Answers on a circle, an edge for every compared pair (thicker with more judgements). */
export function comparisonGraph(nodes: readonly string[], pairs: readonly Pair[], winner: string): SVGElement {
  const W = 320
  const c = W / 2
  const r = W / 2 - 40
  const at = new Map(nodes.map((n, i) => [n, { x: c + r * Math.cos((2 * Math.PI * i) / nodes.length - Math.PI / 2), y: c + r * Math.sin((2 * Math.PI * i) / nodes.length - Math.PI / 2) }]))
  const svg = s('svg', { viewBox: `0 0 ${W} ${W}`, width: W, height: W, role: 'img', 'aria-label': `Comparison graph: ${pairs.length} pairs over ${nodes.length} answers` })
  for (const p of pairs) {
    const a = at.get(p.a)
    const b = at.get(p.b)
    if (!a || !b) continue
    const n = p.a_wins + p.b_wins + p.ties
    svg.appendChild(s('line', { class: 'edge', x1: a.x, y1: a.y, x2: b.x, y2: b.y, 'stroke-width': Math.min(6, 0.8 + n / 2) }, s('title', {}, `${p.a.slice(0, 8)} ${p.a_wins} – ${p.b_wins} ${p.b.slice(0, 8)} (${p.ties} ties)`)))
  }
  for (const [node, p] of at) {
    svg.appendChild(s('circle', { class: node === winner ? 'vertex win' : 'vertex', cx: p.x, cy: p.y, r: 12 }))
    svg.appendChild(s('text', { x: p.x - 18, y: p.y + 26 }, node.slice(0, 6)))
  }
  return svg
}

/** Horizontal bars: p50 solid, p95 as a line beyond it, per phase. */
export function latencyChart(per: Record<string, { p50: number | null; p95: number | null }>): SVGElement {
  const names = Object.keys(per).filter((k) => k !== 'total')
  const W = 520
  const left = 110
  const rowH = 22
  const H = names.length * rowH + 10
  const max = Math.max(1, ...names.map((k) => per[k]!.p95 ?? per[k]!.p50 ?? 0))
  const x = (v: number) => left + (v / max) * (W - left - 70)
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': 'Latency per phase: p50 bars, p95 lines' })
  names.forEach((k, i) => {
    const y = 6 + i * rowH
    const { p50, p95 } = per[k]!
    svg.appendChild(s('text', { x: 4, y: y + 12 }, k.replace('_', ' ')))
    if (p50 !== null) svg.appendChild(s('rect', { class: 'bar', x: left, y, width: Math.max(1, x(p50) - left), height: 14 }))
    if (p95 !== null) svg.appendChild(s('line', { class: 'interval', x1: x(p50 ?? 0), x2: x(p95), y1: y + 7, y2: y + 7 }))
    svg.appendChild(s('text', { x: x(p95 ?? p50 ?? 0) + 4, y: y + 12 }, `${p50 ?? '–'} / ${p95 ?? '–'} ms`))
  })
  return svg
}

/**
 * An operator's chart file (an eval report's SVG) made safe to show: parsed as SVG, and only
 * drawing elements and their geometry and paint attributes kept — no script, no link, no foreign
 * content, no event handler, no style.
 */
const SAFE_ELEMENTS = new Set(['svg', 'g', 'path', 'line', 'polyline', 'polygon', 'rect', 'circle', 'ellipse', 'text', 'tspan', 'title', 'desc'])
const SAFE_ATTRS = /^(x|y|x1|x2|y1|y2|cx|cy|r|rx|ry|d|points|width|height|viewBox|fill|stroke|stroke-width|stroke-dasharray|stroke-opacity|fill-opacity|opacity|font-family|font-size|font-weight|text-anchor|dominant-baseline|transform|xmlns)$/

export function safeSvg(text: string): SVGElement | undefined {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml')
  const root = doc.documentElement
  if (root.nodeName !== 'svg') return undefined
  const copy = (el: Element): SVGElement | undefined => {
    if (!SAFE_ELEMENTS.has(el.nodeName)) return undefined
    const out = s(el.nodeName)
    for (const a of Array.from(el.attributes)) if (SAFE_ATTRS.test(a.name) && !/url\(|javascript:/i.test(a.value)) out.setAttribute(a.name, a.value)
    for (const child of Array.from(el.childNodes)) {
      if (child.nodeType === Node.TEXT_NODE) out.appendChild(document.createTextNode(child.textContent ?? ''))
      else if (child.nodeType === Node.ELEMENT_NODE) {
        const c = copy(child as Element)
        if (c) out.appendChild(c)
      }
    }
    return out
  }
  return copy(root)
}
