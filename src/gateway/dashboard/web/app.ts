/**
 * The dashboard's entry: a hash router over the pages (#/ chat, #/network, #/rounds, #/rounds/:id,
 * #/economics, #/quality). Each page gets an AbortSignal that ends when the reader leaves it, so a
 * page that polls stops polling.
 */
import { askForKey } from './api.js'
import { chatPage } from './chatPage.js'
import { h, replace } from './dom.js'
import { economicsPage } from './economicsPage.js'
import { networkPage } from './networkPage.js'
import { qualityPage } from './qualityPage.js'
import { roundPage, roundsPage } from './roundsPage.js'

const main = document.getElementById('main')!
let leaving: AbortController | undefined

async function route(): Promise<void> {
  leaving?.abort()
  const here = new AbortController()
  leaving = here
  const path = location.hash.replace(/^#/, '') || '/'
  for (const a of Array.from(document.querySelectorAll('nav a'))) {
    const target = (a.getAttribute('href') ?? '').replace(/^#/, '')
    const current = target === '/' ? path === '/' : path.startsWith(target)
    if (current) a.setAttribute('aria-current', 'page')
    else a.removeAttribute('aria-current')
  }
  const round = /^\/rounds\/([0-9a-f]{64})$/.exec(path)
  try {
    if (path === '/') chatPage(main)
    else if (path === '/network') await networkPage(main)
    else if (path === '/rounds') await roundsPage(main, here.signal)
    else if (round) await roundPage(main, round[1]!)
    else if (path === '/economics') await economicsPage(main)
    else if (path === '/quality') await qualityPage(main)
    else replace(main, h('h1', {}, 'Not found'), h('p', {}, 'No such page. ', h('a', { href: '#/' }, 'Back to the chat.')))
  } catch (err) {
    if (!here.signal.aborted) replace(main, h('h1', {}, 'Could not load this page'), h('p', { class: 'error', role: 'alert' }, (err as Error).message))
  }
  if (!here.signal.aborted) document.title = `Chorus · ${document.querySelector('main h1')?.textContent ?? ''}`
}

window.addEventListener('hashchange', () => void route())
document.getElementById('key-button')!.addEventListener('click', () => void askForKey('Set the API key this gateway gave you.').then((given) => (given ? route() : undefined)))
void route()
