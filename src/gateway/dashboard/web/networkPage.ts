/** Network: every node the gateway knows, metagraph-style, with its standing on the ledger. */
import { api } from './api.js'
import { fixed, h, replace, shortId, units, when } from './dom.js'
import { sortableTable } from './table.js'

interface NodeRow {
  id: string
  backend?: string
  domains?: string[]
  activeRounds?: number
  capacity?: number
  lastSeen?: number
  rejected?: number
  health: 'online' | 'joining' | 'unreachable'
  earned_micro: string
  forfeited_micro: string
  ledger?: { eligible: boolean; stake: string; balance: string; operator: string; operatorBalance: string; answerReputationPpm: number; judgeWeight: number; rounds: number; calibrated: boolean; calibrationRight: number; calibrationTotal: number }
}
interface Concentration {
  judges: number
  weighted: number
  largest_share: number | null
  gini: number | null
}

/** Passed or not, with the known-answer judgements graded so far (hidden rounds add to them). */
function calibration(n: NodeRow): string {
  const l = n.ledger
  if (l === undefined) return '–'
  const graded = l.calibrationTotal > 0 ? ` (${l.calibrationRight}/${l.calibrationTotal})` : ''
  return `${l.calibrated ? 'passed' : 'not passed'}${graded}`
}

export async function networkPage(main: HTMLElement): Promise<void> {
  const data = await api<{ metered: boolean; nodes: NodeRow[]; judge_weight: Concentration }>('/v1/dashboard/nodes')
  const count = (k: NodeRow['health']) => data.nodes.filter((n) => n.health === k).length
  const cw = data.judge_weight
  replace(
    main,
    h('h1', {}, 'Network'),
    h(
      'div',
      { class: 'cards' },
      h('div', { class: 'card' }, h('b', { 'data-testid': 'nodes-online' }, count('online')), 'online'),
      h('div', { class: 'card' }, h('b', {}, count('joining')), 'joining (not yet eligible)'),
      h('div', { class: 'card' }, h('b', {}, count('unreachable')), 'unreachable'),
      h('div', { class: 'card' }, h('b', {}, cw.largest_share === null ? '–' : `${(100 * cw.largest_share).toFixed(1)} %`), 'largest judge-weight share'),
    ),
    data.metered
      ? h('p', { class: 'muted' }, 'Earned and forfeited: in the settled rounds this gateway keeps. Balance: the node’s operator’s, where its rewards go.')
      : h('p', { class: 'muted' }, 'This gateway runs without a ledger: every node is eligible and every judge weighs 1.'),
    sortableTable<NodeRow>(
      [
        { title: 'node', cell: (n) => shortId(n.id), sort: (n) => n.id },
        { title: 'state', cell: (n) => h('span', { class: `status-${n.health}` }, n.health), sort: (n) => n.health },
        { title: 'model', cell: (n) => n.backend ?? '–', sort: (n) => n.backend ?? '' },
        { title: 'domains', cell: (n) => (n.domains && n.domains.length > 0 ? n.domains.join(', ') : 'any'), wide: true },
        { title: 'answer rep.', cell: (n) => (n.ledger ? fixed(n.ledger.answerReputationPpm / 1e6) : '–'), sort: (n) => n.ledger?.answerReputationPpm ?? -1, numeric: true },
        { title: 'judge weight', cell: (n) => (n.ledger ? fixed(n.ledger.judgeWeight) : data.metered ? '–' : '1'), sort: (n) => n.ledger?.judgeWeight ?? -1, numeric: true },
        { title: 'calibration', cell: (n) => calibration(n), sort: (n) => (n.ledger?.calibrated ? 1 : 0) + (n.ledger?.calibrationRight ?? 0) / 1e6, wide: true },
        { title: 'stake', cell: (n) => units(n.ledger?.stake), sort: (n) => Number(n.ledger?.stake ?? -1), numeric: true, wide: true },
        { title: 'balance', cell: (n) => units(n.ledger?.operatorBalance), sort: (n) => Number(n.ledger?.operatorBalance ?? -1), numeric: true, wide: true },
        { title: 'earned', cell: (n) => (data.metered ? units(n.earned_micro) : '–'), sort: (n) => Number(n.earned_micro), numeric: true, wide: true },
        { title: 'forfeited', cell: (n) => (data.metered ? units(n.forfeited_micro) : '–'), sort: (n) => Number(n.forfeited_micro), numeric: true, wide: true },
        { title: 'rounds', cell: (n) => n.ledger?.rounds ?? '–', sort: (n) => n.ledger?.rounds ?? -1, numeric: true },
        { title: 'busy', cell: (n) => (n.capacity === undefined ? '–' : `${n.activeRounds ?? 0}/${n.capacity}`), sort: (n) => n.activeRounds ?? 0, numeric: true, wide: true },
        { title: 'last seen', cell: (n) => (n.lastSeen === undefined ? 'in process' : when(n.lastSeen)), sort: (n) => n.lastSeen ?? Number.MAX_SAFE_INTEGER },
      ],
      data.nodes,
      { label: 'Nodes', id: 'nodes', initial: 0 },
    ),
  )
}
