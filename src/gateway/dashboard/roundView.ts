import type { Envelope } from '../../protocol/envelope.js'
import { SCORE_SCALE } from '../../protocol/limits.js'
import type { QueryBody, ResultBody } from '../../protocol/messages.js'
import { judgeMarks } from '../../consensus/prefilter.js'
import { keyFor } from '../../round/outcome.js'
import type { RoundView } from './web/wire.js'

/**
 * A round as the dashboard's round page shows it, read from its signed transcript alone (pure), so
 * what the page shows is exactly what /v1/rounds/:id holds (RoundView, in web/wire.ts).
 */
export function roundView(envelopes: readonly Envelope[]): RoundView {
  const first = envelopes[0]
  if (first === undefined || first.type !== 'Query') throw new Error('a transcript starts with its Query')
  const q = first.body as QueryBody
  const of = (type: Envelope['type']) => envelopes.filter((e) => e.type === type)
  const sealAt = (type: Envelope['type']) => (of(type)[0]?.body as { at?: number } | undefined)?.at
  const result = of('Result')[0]?.body as ResultBody | undefined
  // A private round's prompt is in its Prompt message (what the members were sent), not the Query.
  const asked = (of('Prompt')[0] as Envelope<'Prompt'> | undefined)?.body.messages ?? q.messages
  const reveals = of('AnswerReveal') as Envelope<'AnswerReveal'>[]
  const scored = new Map((result?.scores ?? []).map((s, i) => [s.node, { s, i }]))
  const x = (v: number | undefined) => (v === undefined ? null : v / SCORE_SCALE)
  const marking = judgesMarking(of('VerdictReveal') as Envelope<'VerdictReveal'>[])
  const answers = reveals
    .map((r) => {
      const s = scored.get(r.from)?.s
      const m = marking.get(r.from)
      return { node: r.from, text: r.body.answer, group: r.from, score: x(s?.score), lo: x(s?.lo), hi: x(s?.hi), support: s?.support ?? null, tokens: r.body.usage.prompt + r.body.usage.completion, marked: m?.marked ?? 0, seen: m?.seen ?? 0 }
    })
    .sort((a, b) => (scored.get(a.node)?.i ?? Infinity) - (scored.get(b.node)?.i ?? Infinity) || (a.node < b.node ? -1 : 1))
  // Answers the round's reading holds equivalent name the best-ranked of them as their group.
  const key = keyFor(q.answer)
  const firstOf = new Map<string, string>()
  for (const a of answers) {
    const k = key(a.text)
    a.group = firstOf.get(k) ?? a.node
    if (!firstOf.has(k)) firstOf.set(k, a.node)
  }

  const verdicts: RoundView['verdicts'] = []
  const pairs = new Map<string, RoundView['pairs'][number]>()
  for (const e of of('VerdictReveal') as Envelope<'VerdictReveal'>[]) {
    for (const v of e.body.verdicts) {
      verdicts.push({ judge: e.from, first: v.a, second: v.b, verdict: v.v, p_first: v.p < 0 ? null : v.p / 10_000, evidence: v.e ?? null, marks: v.g ?? null })
      const [a, b] = v.a < v.b ? [v.a, v.b] : [v.b, v.a]
      const key = `${a}:${b}`
      const pair = pairs.get(key) ?? { a, b, a_wins: 0, b_wins: 0, ties: 0, abstained: 0 }
      pairs.set(key, pair)
      const winner = v.v === 'A' ? v.a : v.v === 'B' ? v.b : undefined
      if (v.v === 'T') pair.ties++
      else if (v.v === 'U') pair.abstained++
      else if (winner === a) pair.a_wins++
      else pair.b_wins++
    }
  }
  const span = (from: number | undefined, to: number | undefined) => (from === undefined || to === undefined ? null : to - from)
  const t = { members: sealAt('Members'), commits: sealAt('CommitsSealed'), reveals: sealAt('RevealsSealed'), verdictCommits: sealAt('VerdictCommitsSealed'), verdicts: sealAt('VerdictsSealed'), result: sealAt('Result') }
  return {
    round: first.round,
    coordinator: first.from,
    question: [...asked].reverse().find((m) => m.role === 'user')?.content ?? asked.at(-1)?.content ?? '',
    private: q.prompt !== undefined,
    operators: q.operators ?? null,
    asked_at: q.issuedAt,
    rules: q.rules.version,
    fee_micro: q.fee,
    ticket_micro: q.ticket,
    domains: [...q.domains],
    answer_type: q.answer?.type ?? null,
    joined: of('Join').map((e) => e.from),
    ranked: result?.ranked ?? false,
    winner: result?.winner ?? '',
    separated: result?.separated ?? false,
    transcript_root: result?.root ?? '',
    answers,
    pairs: [...pairs.values()],
    verdicts,
    phases_ms: {
      join: span(q.issuedAt, t.members),
      answer: span(t.members, t.commits),
      reveal: span(t.commits, t.reveals),
      judge: span(t.reveals, t.verdictCommits),
      verdict_reveal: span(t.verdictCommits, t.verdicts),
      total: span(q.issuedAt, t.result),
    },
  }
}

/** Per answer: the judges that compared it, and those that marked it no genuine attempt in most of their verdicts on it. */
function judgesMarking(reveals: readonly Envelope<'VerdictReveal'>[]): Map<string, { seen: number; marked: number }> {
  const out = new Map<string, { seen: number; marked: number }>()
  const byJudge = judgeMarks(reveals.flatMap((e) => e.body.verdicts.map((v) => ({ judge: e.from, a: v.a, b: v.b, ...(v.g === undefined ? {} : { g: v.g }) }))))
  for (const answers of byJudge.values()) {
    for (const [owner, marked] of answers) {
      const o = out.get(owner) ?? { seen: 0, marked: 0 }
      o.seen++
      if (marked) o.marked++
      out.set(owner, o)
    }
  }
  return out
}
