/**
 * Building the page without HTML strings: every value from the gateway (answers come from untrusted
 * nodes) becomes a text node, never markup. Attributes are set one by one, and never an event
 * handler attribute or `style` (the CSP forbids inline code and style anyway).
 */
export type Child = Node | string | number | null | undefined | false
export type Attrs = Record<string, string | number | boolean | undefined | null>

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  setAttrs(el, attrs)
  append(el, children)
  return el
}

const SVG_NS = 'http://www.w3.org/2000/svg'

export function s(tag: string, attrs: Attrs = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag)
  setAttrs(el, attrs)
  append(el, children)
  return el
}

function setAttrs(el: Element, attrs: Attrs): void {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (/^on/i.test(k) || k === 'style') throw new Error(`refusing attribute ${k}`)
    el.setAttribute(k, v === true ? '' : String(v))
  }
}

export function append(el: Node, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c)
  }
}

export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren()
  append(el, children)
}

/** A node id as people read it: its first 10 hex digits (the full id in the title). */
export function shortId(id: string | null | undefined): HTMLElement {
  return h('code', { title: id ?? '' }, id ? id.slice(0, 10) : '–')
}

export function ms(x: number | null | undefined): string {
  if (x === null || x === undefined) return '–'
  return x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`
}

/** Micro-units (a decimal string) as units with six decimals. */
export function units(micro: string | null | undefined): string {
  if (micro === null || micro === undefined) return '–'
  const v = BigInt(micro)
  const neg = v < 0n
  const a = neg ? -v : v
  return `${neg ? '−' : ''}${a / 1_000_000n}.${(a % 1_000_000n).toString().padStart(6, '0')}`
}

export function when(t: number | null | undefined): string {
  if (!t) return '–'
  const d = new Date(t)
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
}

export function fixed(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits)
}
