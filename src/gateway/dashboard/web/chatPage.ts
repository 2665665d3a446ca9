/**
 * Chat: ask the swarm through the OpenAI-compatible streaming API, show each phase of the round as
 * the gateway announces it (SSE comments `: phase …`), then the answer and its provenance.
 */
import { api, askForKey, errorOf, headers } from './api.js'
import { h, replace } from './dom.js'
import { roundDetail } from './roundDetail.js'
import type { RoundPage } from './wire.js'

export const PHASE_LABELS: Record<string, string> = {
  queued: 'queued',
  joining: 'nodes joining',
  selecting: 'selecting members',
  committing: 'answering',
  revealing: 'revealing answers',
  assigning: 'assigning judges',
  verdictCommitting: 'judging',
  verdictRevealing: 'revealing verdicts',
  done: 'done',
}

export function chatPage(main: HTMLElement): void {
  const question = h('textarea', { id: 'question', name: 'question', required: true, placeholder: 'Ask the swarm…', 'aria-label': 'Question' })
  const send = h('button', { type: 'submit', id: 'ask' }, 'Ask')
  const phases = h('ol', { class: 'phases', 'aria-label': 'Round phases', 'data-testid': 'phases' })
  const status = h('p', { role: 'status', class: 'muted' })
  const answer = h('div', { class: 'panel', hidden: true }, h('h2', {}, 'Answer'), h('p', { class: 'answer', 'data-testid': 'answer' }))
  const detail = h('div', { 'data-testid': 'detail' })
  const form = h('form', { class: 'ask' }, h('label', { for: 'question' }, 'Question'), question, h('div', { class: 'row' }, send))
  const swarm = h('p', { class: 'muted', 'data-testid': 'swarm-status' })
  replace(main, h('h1', {}, 'Ask the swarm'), swarm, form, phases, status, answer, detail)
  question.focus()
  void showSwarm(swarm)
  question.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit()
  })
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const text = question.value.trim()
    if (!text) return
    send.disabled = true
    replace(phases)
    replace(detail)
    answer.hidden = true
    replace(status, 'sending…')
    try {
      await ask(text, phases, status, answer.querySelector('.answer')!, answer, detail)
    } catch (err) {
      replace(status, h('span', { class: 'error' }, (err as Error).message))
    } finally {
      send.disabled = false
    }
  })
}

/** One line on the swarm behind the page: nodes by state, rounds running, the typical round. */
async function showSwarm(line: HTMLElement): Promise<void> {
  const o = await api<{ nodes: { total: number; online: number; joining: number; unreachable: number; needed: number }; queue: { running: number; waiting: number }; latency: { per_phase: { total: { p50: number | null } } } }>('/v1/dashboard/overview', {}, false).catch(() => undefined)
  if (o === undefined) return
  const p50 = o.latency.per_phase.total.p50
  replace(line, `${o.nodes.online} of ${o.nodes.total} nodes online${o.nodes.joining ? `, ${o.nodes.joining} joining` : ''}${o.nodes.unreachable ? `, ${o.nodes.unreachable} unreachable` : ''} (a round needs ${o.nodes.needed}) · ${o.queue.running} rounds running, ${o.queue.waiting} queued${p50 === null ? '' : ` · a round takes ${p50} ms (p50)`}`)
}

async function ask(text: string, phases: HTMLElement, status: HTMLElement, out: Element, answerPanel: HTMLElement, detail: HTMLElement, retry = true): Promise<void> {
  const started = performance.now()
  const res = await fetch('/v1/chat/completions', {
    method: 'POST',
    headers: headers({ 'content-type': 'application/json' }),
    body: JSON.stringify({ model: 'chorus-swarm', stream: true, messages: [{ role: 'user', content: text }] }),
  })
  if (res.status === 401 && retry) {
    if (await askForKey((await errorOf(res)) ?? 'This gateway needs an API key.')) return ask(text, phases, status, out, answerPanel, detail, false)
  }
  if (!res.ok || res.body === null) throw new Error((await errorOf(res)) ?? `HTTP ${res.status}`)
  const seen: string[] = []
  const mark = (phase: string) => {
    if (seen.includes(phase)) return
    seen.push(phase)
    for (const li of Array.from(phases.children)) li.className = 'done'
    phases.appendChild(h('li', { class: phase === 'done' ? 'done' : 'now', 'data-phase': phase }, PHASE_LABELS[phase] ?? phase, ' ', h('span', { class: 'muted' }, `${Math.round(performance.now() - started)} ms`)))
    replace(status, `round ${PHASE_LABELS[phase] ?? phase}…`)
  }
  let round: string | undefined
  let content = ''
  let failure: string | undefined
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    buffer += value
    let cut: number
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, cut)
      buffer = buffer.slice(cut + 2)
      for (const line of event.split('\n')) {
        if (line.startsWith(': phase ')) mark(line.slice(8).trim())
        else if (line.startsWith(': round queued')) mark('queued')
        else if (line.startsWith('data: ') && line !== 'data: [DONE]') {
          const chunk = JSON.parse(line.slice(6)) as { error?: { message: string }; choices?: { delta?: { content?: string } }[]; chorus?: { round: string } }
          if (chunk.error) failure = chunk.error.message
          const piece = chunk.choices?.[0]?.delta?.content
          if (piece) {
            content += piece
            answerPanel.hidden = false
            out.textContent = content
          }
          if (chunk.chorus) round = chunk.chorus.round
        }
      }
    }
  }
  if (failure !== undefined) throw new Error(failure)
  mark('done')
  replace(status, `answered in ${Math.round(performance.now() - started)} ms`)
  if (round !== undefined) {
    const view = await api<RoundPage>(`/v1/dashboard/rounds/${encodeURIComponent(round)}`)
    // The round's own panel shows the winning answer with its provenance; the streamed copy goes.
    answerPanel.hidden = true
    replace(detail, h('p', {}, h('a', { href: `#/rounds/${round}`, 'data-testid': 'round-link' }, 'Open this round’s page')), roundDetail(view, { showQuestion: false }))
  }
}
