/**
 * A finished round, as the chat page and the round page show it: the winner and whether it is
 * separated, every answer (as text) with its score and interval, the comparison graph, every
 * verdict, per-phase latency, the settlement, and the transcript root with a "verify" action that
 * asks the gateway to recompute the stored round.
 */
import { api } from './api.js'
import { comparisonGraph, scoreChart } from './charts.js'
import { fixed, h, ms, replace, shortId, units, when } from './dom.js'
import { sortableTable } from './table.js'
import type { RoundPage } from './wire.js'

export function roundDetail(v: RoundPage, options: { showQuestion: boolean }): HTMLElement {
  const winner = v.answers.find((a) => a.node === v.winner)
  const out = h('section', { class: 'round', 'data-round': v.round })
  const verifyResult = h('span', { role: 'status', 'data-testid': 'verify-result' })
  const verifyButton = h('button', { type: 'button', class: 'quiet', 'data-testid': 'verify' }, 'Verify')
  verifyButton.addEventListener('click', async () => {
    verifyButton.disabled = true
    replace(verifyResult, 'recomputing…')
    try {
      const r = await api<{ valid: boolean; transcript_root?: string; matches_stored?: boolean; reason?: string; ms: number }>(`/v1/dashboard/rounds/${encodeURIComponent(v.round)}/verify`, { method: 'POST' })
      replace(
        verifyResult,
        r.valid
          ? h('span', { class: r.matches_stored ? 'good' : 'bad' }, r.matches_stored ? `VALID: recomputed root and winner match (${r.ms} ms)` : 'VALID transcript, but it does not match what was stored')
          : h('span', { class: 'bad' }, `INVALID: ${r.reason ?? ''}`),
      )
    } catch (err) {
      replace(verifyResult, h('span', { class: 'error' }, (err as Error).message))
    } finally {
      verifyButton.disabled = false
    }
  })

  if (options.showQuestion) out.appendChild(h('div', { class: 'panel' }, h('h2', {}, 'Question'), h('p', { class: 'answer' }, v.question)))
  out.appendChild(
    h(
      'div',
      { class: 'panel winner' },
      h('h2', {}, v.ranked ? 'Winning answer' : 'Answer (unranked: too few answers to rank)'),
      h('p', { class: 'answer', 'data-testid': 'winner-text' }, winner?.text ?? ''),
      h(
        'p',
        { class: 'row muted' },
        h('span', {}, 'from ', h('code', { 'data-testid': 'winner', 'data-value': v.winner, title: v.winner }, v.winner.slice(0, 16))),
        h('span', { class: v.separated ? 'good' : 'warn' }, v.separated ? 'separated from the runner-up' : 'not separated from the runner-up'),
        h('span', {}, `${v.answers.length} answers, ${v.verdicts.length} verdicts, ${ms(v.round_ms)}`),
        v.operators ? h('span', {}, `only nodes of operator${v.operators.length === 1 ? '' : 's'} `, ...v.operators.map((o) => h('code', { title: o }, `${o.slice(0, 8)} `))) : null,
        v.private ? h('span', {}, 'private: only the prompt’s hash was broadcast; the seated members alone were sent it') : null,
        v.redacted ? h('span', {}, `personal data replaced before broadcast: ${Object.entries(v.redacted).map(([k, n]) => `${n} ${k.toLowerCase()}`).join(', ')}`) : null,
      ),
    ),
  )

  out.appendChild(h('h2', {}, 'Scores'))
  out.appendChild(h('div', { class: 'chart-wrap' }, scoreChart(v.answers, v.winner)))
  out.appendChild(
    sortableTable(
      [
        { title: '#', cell: (a) => v.answers.indexOf(a) + 1, sort: (a) => v.answers.indexOf(a), numeric: true },
        { title: 'node', cell: (a) => shortId(a.node), sort: (a) => a.node },
        {
          title: 'score',
          cell: (a) =>
            v.ranked && a.score === null && 2 * a.marked > a.seen
              ? h('span', { class: 'warn', 'data-testid': 'left-out', 'data-node': a.node, title: 'the GOOD/BAD prefilter: left out of the ranking, its ticket forfeit' }, `left out: ${a.marked} of ${a.seen} judges marked it no genuine attempt`)
              : h('span', { 'data-testid': 'score', 'data-node': a.node, 'data-value': a.score === null ? '' : String(a.score) }, fixed(a.score)),
          sort: (a) => a.score ?? -Infinity,
          numeric: true,
        },
        { title: '95 % interval', cell: (a) => (a.lo === null ? '–' : `[${fixed(a.lo)}, ${fixed(a.hi)}]`), wide: true },
        { title: 'support', cell: (a) => a.support ?? '–', sort: (a) => a.support ?? 0, numeric: true },
        { title: 'answer', cell: (a) => h('span', { class: 'answer' }, a.text.length > 400 ? `${a.text.slice(0, 400)}…` : a.text) },
      ],
      v.answers,
      { label: 'Answers and scores', id: 'scores' },
    ),
  )

  out.appendChild(h('h2', {}, 'Comparison graph'))
  out.appendChild(h('p', { class: 'muted' }, `${v.pairs.length} pairs compared, each judged in both orders; thicker edges had more judgements.`))
  out.appendChild(comparisonGraph(v.answers.map((a) => a.node), v.pairs, v.winner))

  const verdicts = h('details', {}, h('summary', {}, `Verdicts: ${v.verdicts.length} from ${new Set(v.verdicts.map((x) => x.judge)).size} judges`))
  out.appendChild(verdicts)
  verdicts.appendChild(
    sortableTable(
      [
        { title: 'judge', cell: (x) => shortId(x.judge), sort: (x) => x.judge },
        { title: 'first', cell: (x) => shortId(x.first), sort: (x) => x.first },
        { title: 'second', cell: (x) => shortId(x.second), sort: (x) => x.second },
        { title: 'verdict', cell: (x) => ({ A: 'first better', B: 'second better', T: 'tie', U: 'abstained' })[x.verdict] ?? x.verdict, sort: (x) => x.verdict },
        { title: 'P(first)', cell: (x) => fixed(x.p_first, 2), sort: (x) => x.p_first ?? -1, numeric: true, wide: true },
        ...(v.verdicts.some((x) => x.marks !== null)
          ? [{ title: 'not genuine', cell: (x: RoundPage['verdicts'][number]) => (x.marks === null ? '–' : ({ 1: 'first', 2: 'second', 3: 'both' } as Record<number, string>)[x.marks] ?? String(x.marks)), wide: true }]
          : []),
        ...(v.verdicts.some((x) => x.evidence !== null)
          ? [{ title: 'tool evidence', cell: (x: RoundPage['verdicts'][number]) => (x.evidence === null ? '–' : h('code', { title: 'as the judge signed it: per answer, what its tools found (maths: claims checked, wrong, follows)' }, x.evidence.join(' '))), wide: true }]
          : []),
      ],
      v.verdicts,
      { label: 'Verdicts' },
    ),
  )

  out.appendChild(h('h2', {}, 'Phases'))
  out.appendChild(h('p', { class: 'row' }, ...Object.entries(v.phases_ms).map(([k, x]) => h('span', {}, `${k.replace('_', ' ')}: `, h('b', {}, ms(x))))))

  out.appendChild(h('h2', {}, 'Settlement'))
  const st = v.settlement
  out.appendChild(
    st === null
      ? h('p', { class: 'muted' }, v.fee_micro === '0' && v.charge_micro === '0' ? 'No ledger: nothing was paid.' : 'Not settled yet (the ledger settles rounds in batches).')
      : h(
          'div',
          {},
          h('p', { class: 'row' }, h('span', {}, `ledger entry #${st.seq}`), h('span', {}, `pool ${units(st.pool)}`), h('span', {}, `charged ${units(st.charged)}`), h('span', {}, `fee ${units(v.fee_micro)}`), h('span', {}, `ticket ${units(v.ticket_micro)}`)),
          sortableTable(
            [
              { title: 'account', cell: (r) => shortId(r[0]), sort: (r) => r[0] },
              { title: 'paid', cell: (r) => units(r[1]), sort: (r) => Number(r[1]), numeric: true },
              { title: 'forfeited', cell: (r) => units(r[2]), sort: (r) => Number(r[2]), numeric: true },
            ],
            [...new Set([...Object.keys(st.rewards), ...Object.keys(st.forfeits)])].map((k) => [k, st.rewards[k] ?? '0', st.forfeits[k] ?? '0'] as const),
            { label: 'Payouts and forfeits', initial: 1, descending: true },
          ),
        ),
  )

  out.appendChild(
    h(
      'div',
      { class: 'panel' },
      h('h2', {}, 'Transcript'),
      h('p', {}, 'root ', h('code', { 'data-testid': 'root', 'data-value': v.transcript_root }, v.transcript_root)),
      h('p', { class: 'row muted' }, h('span', {}, `round `, h('code', {}, v.round)), h('span', {}, `rules v${v.rules}`), h('span', {}, `asked ${when(v.asked_at)}`), h('span', {}, `coordinator `, shortId(v.coordinator))),
      h('p', { class: 'row' }, verifyButton, verifyResult),
    ),
  )
  return out
}
