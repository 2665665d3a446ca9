/** Economics and trust: what each round cost and paid, judge-weight concentration, the ledger's log. */
import { api } from './api.js'
import { fixed, h, replace, shortId, units, when } from './dom.js'
import { sortableTable } from './table.js'

interface EconRow {
  round: string
  finished_at: number
  members: number
  fee_micro: string
  ticket_micro: string
  charge_micro: string
  settled: boolean
  pool_micro: string | null
  paid_micro: string | null
  forfeited_micro: string | null
  forfeits: number | null
}
interface Economics {
  metered: boolean
  rounds: EconRow[]
  totals: { rounds: number; settled: number; charged_micro: string; paid_micro: string; forfeited_micro: string }
  judge_weight: { judges: number; weighted: number; largest_share: number | null; gini: number | null }
  log:
    | {
        head: string
        seq: number
        anchored: { index: string; log_seq: string; log_head: string; state_root: string; rounds: number; burned_micro: string }[] | null
        entries: { seq: number; at: number; kind: string; hash: string; round: string | null }[]
      }
    | { error: string }
    | null
}

export async function economicsPage(main: HTMLElement): Promise<void> {
  const e = await api<Economics>('/v1/dashboard/economics')
  const t = e.totals
  const cw = e.judge_weight
  replace(
    main,
    h('h1', {}, 'Economics and trust'),
    e.metered ? null : h('p', { class: 'muted' }, 'This gateway runs without a ledger: nothing is charged, paid or forfeited.'),
    h(
      'div',
      { class: 'cards' },
      h('div', { class: 'card' }, h('b', {}, `${t.settled}/${t.rounds}`), 'rounds settled'),
      h('div', { class: 'card' }, h('b', {}, units(t.charged_micro)), 'charged to clients'),
      h('div', { class: 'card' }, h('b', {}, units(t.paid_micro)), 'paid to nodes'),
      h('div', { class: 'card' }, h('b', {}, units(t.forfeited_micro)), 'tickets forfeited'),
    ),
    h('h2', {}, 'Judge-weight concentration'),
    h(
      'p',
      {},
      `${cw.weighted} of ${cw.judges} nodes carry judge weight; the largest holds `,
      h('b', { 'data-testid': 'largest-share' }, cw.largest_share === null ? '–' : `${(100 * cw.largest_share).toFixed(1)} %`),
      ' of it; Gini ',
      h('b', {}, fixed(cw.gini, 2)),
      '. A share or Gini that climbs while few nodes join is what a Sybil farm or a colluding group looks like (each round still caps any one judge’s share).',
    ),
    h('h2', {}, 'Per round'),
    sortableTable<EconRow>(
      [
        { title: 'finished', cell: (r) => when(r.finished_at), sort: (r) => r.finished_at },
        { title: 'round', cell: (r) => h('a', { href: `#/rounds/${r.round}` }, r.round.slice(0, 10)), sort: (r) => r.round },
        { title: 'members', cell: (r) => r.members, sort: (r) => r.members, numeric: true, wide: true },
        { title: 'fee', cell: (r) => units(r.fee_micro), sort: (r) => Number(r.fee_micro), numeric: true },
        { title: 'ticket', cell: (r) => units(r.ticket_micro), sort: (r) => Number(r.ticket_micro), numeric: true, wide: true },
        { title: 'charged', cell: (r) => units(r.charge_micro), sort: (r) => Number(r.charge_micro), numeric: true },
        { title: 'paid out', cell: (r) => units(r.paid_micro), sort: (r) => Number(r.paid_micro ?? -1), numeric: true },
        { title: 'forfeited', cell: (r) => (r.forfeited_micro === null ? '–' : `${units(r.forfeited_micro)} (${r.forfeits})`), sort: (r) => Number(r.forfeited_micro ?? -1), numeric: true },
      ],
      e.rounds,
      { label: 'Economics per round', initial: 0, descending: true },
    ),
    h('h2', {}, 'Settlement log'),
    logSection(e.log),
  )
}

function logSection(log: Economics['log']): HTMLElement {
  if (log === null) return h('p', { class: 'muted' }, 'No ledger.')
  if ('error' in log) return h('p', { class: 'error' }, `The ledger did not answer: ${log.error}`)
  return h(
    'div',
    {},
    h('p', {}, `${log.seq} entries; chain head `, h('code', { 'data-testid': 'ledger-head' }, log.head), '. Each entry is signed by the ledger operator and names the hash of the one before; ', h('code', {}, 'chorus ledger verify'), ' replays them all.'),
    sortableTable(
      [
        { title: '#', cell: (x) => x.seq, sort: (x) => x.seq, numeric: true },
        { title: 'when', cell: (x) => when(x.at), sort: (x) => x.at },
        { title: 'kind', cell: (x) => x.kind, sort: (x) => x.kind },
        { title: 'round', cell: (x) => (x.round ? h('a', { href: `#/rounds/${x.round}` }, x.round.slice(0, 10)) : '–') },
        { title: 'hash', cell: (x) => shortId(x.hash), wide: true },
      ],
      log.entries,
      { label: 'Ledger log', initial: 0, descending: true },
    ),
    log.anchored === null
      ? h('p', { class: 'muted' }, 'This ledger is not anchored on a chain: its operator orders settlements; anyone can replay them.')
      : h(
          'div',
          {},
          h('h3', {}, 'Anchored on the custody chain'),
          log.anchored.length === 0
            ? h('p', { class: 'muted' }, 'No batch posted yet.')
            : sortableTable(
                [
                  { title: 'batch', cell: (b) => b.index, sort: (b) => Number(b.index), numeric: true },
                  { title: 'through entry', cell: (b) => b.log_seq, sort: (b) => Number(b.log_seq), numeric: true },
                  { title: 'rounds', cell: (b) => b.rounds, sort: (b) => b.rounds, numeric: true },
                  { title: 'log head', cell: (b) => shortId(b.log_head.replace(/^0x/, '')), wide: true },
                  { title: 'state root', cell: (b) => shortId(b.state_root.replace(/^0x/, '')), wide: true },
                ],
                log.anchored,
                { label: 'Anchored batches', id: 'anchored', initial: 0, descending: true },
              ),
        ),
  )
}
