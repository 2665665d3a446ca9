/** Rounds: the live ones with their phase progress, then the recent ones; and one round's page. */
import { api } from './api.js'
import { PHASE_LABELS } from './chatPage.js'
import { h, ms, replace, shortId, when } from './dom.js'
import { roundDetail } from './roundDetail.js'
import { sortableTable } from './table.js'
import type { LiveRound, RoundPage } from './wire.js'

interface RoundRow {
  round: string
  question: string
  finished_at: number
  round_ms: number
  ranked: boolean
  winner: string
  answers: number
  phases_ms: Record<string, number | null>
  settled: boolean
}

export async function roundsPage(main: HTMLElement, signal: AbortSignal): Promise<void> {
  const liveBox = h('div', { 'aria-live': 'polite' })
  const recentBox = h('div')
  replace(main, h('h1', {}, 'Rounds'), h('h2', {}, 'Live'), liveBox, h('h2', {}, 'Recent'), recentBox)
  let shown = ''
  const refresh = async () => {
    const data = await api<{ live: LiveRound[]; recent: RoundRow[]; queue: { running: number; waiting: number } }>('/v1/dashboard/rounds?limit=200')
    replace(
      liveBox,
      h('p', { class: 'muted' }, `${data.queue.running} running, ${data.queue.waiting} queued`),
      data.live.length === 0 ? h('p', { class: 'muted' }, 'No round is running.') : h('ul', {}, ...data.live.map(liveItem)),
    )
    // The recent table is rebuilt only when it changed, so a reader's sort order survives a poll.
    const key = data.recent.map((r) => r.round).join()
    if (key !== shown) {
      shown = key
      replace(
        recentBox,
        data.recent.length === 0
          ? h('p', { class: 'muted' }, 'No finished rounds yet. Ask one on the chat page.')
          : sortableTable<RoundRow>(
              [
                { title: 'finished', cell: (r) => when(r.finished_at), sort: (r) => r.finished_at },
                { title: 'question', cell: (r) => h('a', { href: `#/rounds/${r.round}` }, r.question.length > 80 ? `${r.question.slice(0, 80)}…` : r.question || '(empty)'), sort: (r) => r.question },
                { title: 'answers', cell: (r) => r.answers, sort: (r) => r.answers, numeric: true },
                { title: 'winner', cell: (r) => shortId(r.winner), sort: (r) => r.winner, wide: true },
                { title: 'join', cell: (r) => ms(r.phases_ms.join), sort: (r) => r.phases_ms.join ?? 0, numeric: true, wide: true },
                { title: 'answer', cell: (r) => ms(r.phases_ms.answer), sort: (r) => r.phases_ms.answer ?? 0, numeric: true, wide: true },
                { title: 'judge', cell: (r) => ms(r.phases_ms.judge), sort: (r) => r.phases_ms.judge ?? 0, numeric: true, wide: true },
                { title: 'total', cell: (r) => ms(r.round_ms), sort: (r) => r.round_ms, numeric: true },
                { title: 'settled', cell: (r) => (r.settled ? 'yes' : '–'), sort: (r) => (r.settled ? 1 : 0), wide: true },
              ],
              data.recent,
              { label: 'Recent rounds', id: 'recent-rounds', initial: 0, descending: true },
            ),
      )
    }
  }
  await refresh()
  const timer = setInterval(() => void refresh().catch(() => {}), 1000)
  signal.addEventListener('abort', () => clearInterval(timer), { once: true })
}

function liveItem(r: LiveRound): HTMLElement {
  return h(
    'li',
    {},
    h('span', {}, r.question.length > 80 ? `${r.question.slice(0, 80)}…` : r.question),
    ' ',
    h(
      'ol',
      { class: 'phases' },
      ...r.phases.map((p, i) => {
        const next = r.phases[i + 1]
        return h('li', { class: p.phase === r.phase ? 'now' : 'done' }, PHASE_LABELS[p.phase] ?? p.phase, next ? ` ${ms(next.at - p.at)}` : ` ${ms(Date.now() - p.at)}…`)
      }),
    ),
  )
}

export async function roundPage(main: HTMLElement, id: string): Promise<void> {
  const view = await api<RoundPage>(`/v1/dashboard/rounds/${encodeURIComponent(id)}`)
  replace(main, h('p', {}, h('a', { href: '#/rounds' }, '← all rounds')), h('h1', {}, 'Round ', h('code', {}, id.slice(0, 16))), roundDetail(view, { showQuestion: true }))
}
