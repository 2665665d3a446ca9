/**
 * A table whose columns sort by a click or Enter on their header (buttons, so the keyboard works;
 * `aria-sort` says the order). Each column renders a cell and gives the value it sorts by.
 */
import { type Child, h, replace } from './dom.js'

export interface Column<T> {
  title: string
  cell: (row: T) => Child
  sort?: (row: T) => number | string
  numeric?: boolean
  /** Hidden on narrow screens. */
  wide?: boolean
}

export function sortableTable<T>(columns: readonly Column<T>[], rows: readonly T[], options: { label: string; initial?: number; descending?: boolean; id?: string }): HTMLElement {
  let by = options.initial ?? -1
  let descending = options.descending ?? false
  const body = h('tbody')
  const heads = columns.map((c, i) => {
    const cls = [c.numeric ? 'num' : '', c.wide ? 'hide-narrow' : ''].join(' ').trim() || undefined
    if (c.sort === undefined) return h('th', { scope: 'col', class: cls }, c.title)
    const button = h('button', { type: 'button' }, c.title)
    const th = h('th', { scope: 'col', class: cls }, button)
    button.addEventListener('click', () => {
      descending = by === i ? !descending : c.numeric === true
      by = i
      render()
    })
    return th
  })
  const render = () => {
    const col = columns[by]
    const sorted = col?.sort === undefined ? [...rows] : [...rows].sort((a, b) => compare(col.sort!(a), col.sort!(b)) * (descending ? -1 : 1))
    heads.forEach((th, i) => (i === by ? th.setAttribute('aria-sort', descending ? 'descending' : 'ascending') : th.removeAttribute('aria-sort')))
    replace(
      body,
      ...sorted.map((r) =>
        h(
          'tr',
          {},
          ...columns.map((c) => h('td', { class: [c.numeric ? 'num' : '', c.wide ? 'hide-narrow' : ''].join(' ').trim() || undefined }, c.cell(r))),
        ),
      ),
    )
  }
  render()
  const table = h('table', { 'aria-label': options.label, id: options.id }, h('thead', {}, h('tr', {}, ...heads)), body)
  return h('div', { class: 'table-wrap' }, table)
}

function compare(a: number | string, b: number | string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  return String(a).localeCompare(String(b))
}
