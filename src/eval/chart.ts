import type { Estimate } from './bootstrap.js'

/**
 * A line chart as a standalone SVG (no dependencies, renders on GitHub): accuracy of the swarm's
 * methods against judge accuracy, with the methods that do not depend on judges (majority vote,
 * best single model, oracle) as horizontal reference lines. Each swarm point carries its 95 %
 * interval as an error bar. The simulator draws its charts with it too, some on a linear scale
 * (amounts that may be negative).
 */
export interface ChartSeries {
  label: string
  /** One point per x; undefined leaves a gap. */
  points: readonly (Estimate | undefined)[]
  dashed?: boolean
}

export interface ChartInput {
  title: string
  xLabel: string
  yLabel: string
  xs: readonly number[]
  series: readonly ChartSeries[]
  /** Horizontal lines: a value per method, drawn across the whole plot. */
  references: readonly { label: string; value: number }[]
  /** `percent` (default): values are shares, drawn within 0–100 %; `linear`: any values, labelled as they are. */
  scale?: 'percent' | 'linear'
}

const W = 720
const H = 420
const PAD = { left: 56, right: 190, top: 58, bottom: 48 }
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2']
const REF_COLOURS = ['#d62728', '#7f7f7f', '#17becf', '#bcbd22']

export function accuracyChartSvg(input: ChartInput): string {
  if (input.xs.length === 0) throw new RangeError('a chart needs at least one x value')
  const values = [
    ...input.series.flatMap((s) => s.points.flatMap((p) => (p ? [p.lo, p.hi] : []))),
    ...input.references.map((r) => r.value),
  ]
  // The y range: the data's, widened to whole grid steps (2, 5 or 10 points, by the data's span).
  const lo = Math.min(...values)
  const hi = Math.max(...values)
  const percent = (input.scale ?? 'percent') === 'percent'
  const step = percent ? (hi - lo <= 0.2 ? 0.02 : hi - lo <= 0.5 ? 0.05 : 0.1) : niceStep(hi - lo)
  const yMin = percent ? Math.max(0, Math.floor(lo / step + 1e-9) * step) : Math.floor(lo / step + 1e-9) * step
  const yTop = Math.max(yMin + step, Math.ceil(hi / step - 1e-9) * step)
  const yMax = percent ? Math.min(1, yTop) : yTop
  const label = (y: number) => (percent ? (100 * y).toFixed(0) : y.toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9))))
  const ySpan = yMax - yMin
  const xMin = Math.min(...input.xs)
  const xMax = Math.max(...input.xs)
  const xSpan = xMax - xMin || 1
  const plotW = W - PAD.left - PAD.right
  const plotH = H - PAD.top - PAD.bottom
  const px = (x: number) => PAD.left + (input.xs.length === 1 ? plotW / 2 : (0.05 + (0.9 * (x - xMin)) / xSpan) * plotW)
  const py = (y: number) => PAD.top + (1 - (y - yMin) / ySpan) * plotH
  const f = (n: number) => n.toFixed(1)
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    ...wrap(input.title, 80).map((line, i) => `<text x="12" y="${18 + 17 * i}" font-size="14" font-weight="bold">${escapeXml(line)}</text>`),
  ]
  // Grid and axes.
  for (let k = 0; k <= Math.round(ySpan / step); k++) {
    const y = yMin + k * step
    out.push(`<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${f(py(y))}" y2="${f(py(y))}" stroke="#e5e5e5"/>`)
    out.push(`<text x="${PAD.left - 6}" y="${f(py(y) + 4)}" text-anchor="end">${label(y)}</text>`)
  }
  for (const x of input.xs) {
    out.push(`<line x1="${f(px(x))}" x2="${f(px(x))}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH + 4}" stroke="#333"/>`)
    out.push(`<text x="${f(px(x))}" y="${PAD.top + plotH + 18}" text-anchor="middle">${x}</text>`)
  }
  out.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`)
  out.push(`<text x="${PAD.left + plotW / 2}" y="${H - 10}" text-anchor="middle">${escapeXml(input.xLabel)}</text>`)
  out.push(`<text x="16" y="${PAD.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 16 ${PAD.top + plotH / 2})">${escapeXml(input.yLabel)}</text>`)
  const legend: string[] = []
  const legendY = (i: number) => PAD.top + 10 + 20 * i
  input.references.forEach((r, i) => {
    const colour = REF_COLOURS[i % REF_COLOURS.length]!
    out.push(`<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${f(py(r.value))}" y2="${f(py(r.value))}" stroke="${colour}" stroke-width="1.5" stroke-dasharray="2 3"/>`)
    legend.push(legendEntry(legendY(input.series.length + i), colour, `${r.label} ${percent ? (100 * r.value).toFixed(1) : label(r.value)}`, '2 3'))
  })
  input.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!
    const dash = s.dashed ? '6 4' : undefined
    const pts = input.xs.map((x, k) => (s.points[k] ? `${f(px(x))},${f(py(s.points[k]!.mean))}` : undefined)).filter((p) => p !== undefined)
    out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`)
    input.xs.forEach((x, k) => {
      const p = s.points[k]
      if (!p) return
      out.push(`<line x1="${f(px(x))}" x2="${f(px(x))}" y1="${f(py(p.lo))}" y2="${f(py(p.hi))}" stroke="${colour}"/>`)
      out.push(`<circle cx="${f(px(x))}" cy="${f(py(p.mean))}" r="3" fill="${colour}"/>`)
    })
    legend.push(legendEntry(legendY(i), colour, s.label, dash))
  })
  out.push(...legend, '</svg>', '')
  return out.join('\n')
}

/** A grid step of 1, 2 or 5 times a power of ten that cuts `span` into 4 to 10 parts. */
function niceStep(span: number): number {
  if (!(span > 0)) return 1
  const raw = span / 5
  const power = 10 ** Math.floor(Math.log10(raw))
  const m = raw / power
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * power
}

function legendEntry(y: number, colour: string, label: string, dash: string | undefined): string {
  const x = W - PAD.right + 14
  return (
    `<line x1="${x}" x2="${x + 24}" y1="${y}" y2="${y}" stroke="${colour}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>` +
    `<text x="${x + 30}" y="${y + 4}">${escapeXml(label)}</text>`
  )
}

/** Splits a title into lines of at most `width` characters, at spaces; at most two lines. */
function wrap(text: string, width: number): string[] {
  if (text.length <= width) return [text]
  const cut = text.lastIndexOf(' ', width)
  const at = cut > 0 ? cut : width
  const rest = text.slice(at).trim()
  return [text.slice(0, at), rest.length > width ? `${rest.slice(0, width - 1)}…` : rest]
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}
