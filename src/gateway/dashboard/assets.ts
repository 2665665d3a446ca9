import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { DASHBOARD_CSS } from './style.js'

/**
 * The dashboard's files: one HTML shell, one stylesheet, and the browser modules `npm run build`
 * compiles from `web/` (tsconfig.web.json) beside this file. No CDN and no inline script or style,
 * so the page runs offline under a CSP of `default-src 'self'`. Read once, on first use.
 */
export const DASHBOARD_CSP = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"

export interface Asset {
  type: string
  body: string
}

const SHELL = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chorus</title>
<link rel="stylesheet" href="/ui/style.css">
<link rel="icon" href="/ui/icon.svg" type="image/svg+xml">
<script type="module" src="/ui/app.js"></script>
</head>
<body>
<header class="top">
  <a class="brand" href="#/">Chorus</a>
  <nav aria-label="Pages">
    <a href="#/">Chat</a>
    <a href="#/network">Network</a>
    <a href="#/rounds">Rounds</a>
    <a href="#/economics">Economics</a>
    <a href="#/quality">Quality</a>
  </nav>
  <button type="button" id="key-button" class="quiet">API key</button>
</header>
<main id="main" tabindex="-1"><p class="muted">Loading the dashboard…</p></main>
<noscript><p>The dashboard needs JavaScript. The API is at /v1.</p></noscript>
</body>
</html>
`

/** Three voices: three dots. */
const ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="8" cy="20" r="5" fill="#2458c6"/><circle cx="16" cy="10" r="5" fill="#1f7a3a"/><circle cx="24" cy="20" r="5" fill="#8a5a00"/></svg>'

/** Where the compiled modules are: beside this file in dist; from the sources (tests), dist's copy. */
function webDir(): string | undefined {
  const here = fileURLToPath(new URL('./web/', import.meta.url))
  const built = (dir: string) => existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.js'))
  if (built(here)) return here
  const dist = here.replace(/([\\/])src([\\/]gateway[\\/]dashboard[\\/]web[\\/]?)$/, '$1dist$1src$2')
  return built(dist) ? dist : undefined
}

export class DashboardAssets {
  private files: Map<string, Asset> | undefined

  /** The file at `/ui/<name>`, or undefined. */
  get(name: string): Asset | undefined {
    return this.load().get(name)
  }

  /** The page at `/`; undefined when the modules were never built. */
  shell(): string | undefined {
    return this.load().has('app.js') ? SHELL : undefined
  }

  private load(): Map<string, Asset> {
    if (this.files !== undefined) return this.files
    const files = new Map<string, Asset>([
      ['style.css', { type: 'text/css; charset=utf-8', body: DASHBOARD_CSS }],
      ['icon.svg', { type: 'image/svg+xml', body: ICON }],
    ])
    const dir = webDir()
    if (dir !== undefined) {
      for (const f of readdirSync(dir)) {
        if (/^[A-Za-z]+\.js$/.test(f)) files.set(f, { type: 'text/javascript; charset=utf-8', body: readFileSync(`${dir}/${f}`, 'utf8') })
      }
    }
    this.files = files
    return files
  }
}
