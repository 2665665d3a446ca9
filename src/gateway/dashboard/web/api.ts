/**
 * The gateway's JSON API as the page calls it. The API key, when the gateway asks for one, is kept
 * in sessionStorage (gone when the tab closes) and sent as a Bearer header; a 401 asks for it once
 * and retries. Errors carry the gateway's own message (OpenAI's error shape).
 */
import { h } from './dom.js'

const KEY = 'chorus.apiKey'

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY)
}

export function headers(extra: Record<string, string> = {}): Record<string, string> {
  const key = apiKey()
  return key ? { ...extra, authorization: `Bearer ${key}` } : extra
}

export async function api<T>(path: string, init: RequestInit = {}, retry = true): Promise<T> {
  const res = await fetch(path, { ...init, headers: headers((init.headers as Record<string, string> | undefined) ?? {}) })
  if (res.status === 401 && retry) {
    const given = await askForKey((await errorOf(res)) ?? 'This gateway needs an API key.')
    if (given) return api<T>(path, init, false)
  }
  if (!res.ok) throw new ApiFailure(res.status, (await errorOf(res)) ?? `HTTP ${res.status}`)
  return (await res.json()) as T
}

export async function errorOf(res: Response): Promise<string | undefined> {
  const body = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined
  return body?.error?.message
}

let asking: Promise<boolean> | undefined

/** A small dialog for the key; resolves true when one was given. One at a time. */
export function askForKey(why: string): Promise<boolean> {
  asking ??= new Promise<boolean>((resolve) => {
    const input = h('input', { type: 'password', id: 'api-key', autocomplete: 'off', 'aria-describedby': 'api-key-why' })
    const form = h(
      'form',
      { class: 'panel', 'aria-labelledby': 'api-key-title' },
      h('h2', { id: 'api-key-title' }, 'API key'),
      h('p', { id: 'api-key-why', class: 'muted' }, why, ' It is kept for this tab only (sessionStorage).'),
      h('label', { for: 'api-key' }, 'Key'),
      input,
      h('p', { class: 'row' }, h('button', { type: 'submit' }, 'Use key'), h('button', { type: 'button', class: 'quiet', id: 'api-key-cancel' }, 'Cancel')),
    )
    const dialog = h('div', { class: 'dialog', role: 'dialog', 'aria-modal': 'true' }, form)
    const done = (ok: boolean) => {
      dialog.remove()
      asking = undefined
      resolve(ok)
    }
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      const key = input.value.trim()
      if (key) sessionStorage.setItem(KEY, key)
      done(key.length > 0)
    })
    form.querySelector('#api-key-cancel')!.addEventListener('click', () => done(false))
    dialog.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') done(false)
    })
    document.body.appendChild(dialog)
    input.focus()
  })
  return asking
}
