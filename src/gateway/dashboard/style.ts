/** The dashboard's stylesheet, served at /ui/style.css (a file, never inline: the CSP allows only 'self'). */
export const DASHBOARD_CSS = `
:root { --fg: #1b1f24; --muted: #5b6470; --bg: #fbfbfc; --panel: #fff; --line: #dde1e6; --accent: #2458c6; --good: #1f7a3a; --bad: #b3261e; --warn: #8a5a00; color-scheme: light dark; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --muted: #9aa3ad; --bg: #14171b; --panel: #1b1f24; --line: #2d333b; --accent: #7aa7ff; --good: #5cc97b; --bad: #ff7b72; --warn: #e3b341; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.25rem; padding: .6rem 1rem; border-bottom: 1px solid var(--line); background: var(--panel); }
.brand { font-weight: 700; font-size: 1.1rem; text-decoration: none; color: var(--fg); }
nav { display: flex; flex-wrap: wrap; gap: .25rem .9rem; flex: 1; }
nav a { text-decoration: none; padding: .15rem 0; }
nav a[aria-current="page"] { font-weight: 700; border-bottom: 2px solid var(--accent); }
main { max-width: 1100px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.35rem; margin: .4rem 0 .8rem; } h2 { font-size: 1.1rem; margin: 1.4rem 0 .5rem; } h3 { font-size: 1rem; }
.muted { color: var(--muted); } .good { color: var(--good); } .bad { color: var(--bad); } .warn { color: var(--warn); }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; margin: .6rem 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: .6rem; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: .6rem .8rem; }
.card b { display: block; font-size: 1.3rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th button { font: inherit; font-weight: 700; background: none; border: 0; padding: 0; color: inherit; cursor: pointer; }
th[aria-sort="ascending"] button::after { content: " ▲"; } th[aria-sort="descending"] button::after { content: " ▼"; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85em; overflow-wrap: anywhere; }
.answer { white-space: pre-wrap; overflow-wrap: anywhere; margin: .3rem 0 0; }
.winner { border-color: var(--good); border-width: 2px; }
form.ask { display: flex; flex-direction: column; gap: .5rem; }
textarea { width: 100%; min-height: 5rem; font: inherit; padding: .5rem; border: 1px solid var(--line); border-radius: 6px; background: var(--panel); color: var(--fg); }
input[type="password"], input[type="text"] { font: inherit; padding: .4rem; border: 1px solid var(--line); border-radius: 6px; background: var(--panel); color: var(--fg); width: 100%; }
button { font: inherit; padding: .4rem .9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.quiet { background: transparent; color: var(--accent); }
button:disabled { opacity: .55; cursor: default; }
.phases { display: flex; flex-wrap: wrap; gap: .3rem; padding: 0; margin: .6rem 0; list-style: none; }
.phases li { padding: .2rem .55rem; border: 1px solid var(--line); border-radius: 999px; font-size: .85rem; color: var(--muted); }
.phases li.done { color: var(--good); border-color: var(--good); }
.phases li.now { color: var(--accent); border-color: var(--accent); font-weight: 700; }
.row { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: baseline; }
.status-online { color: var(--good); } .status-joining { color: var(--warn); } .status-unreachable { color: var(--bad); }
main svg { max-width: 100%; height: auto; }
svg text { fill: var(--fg); font-size: 11px; }
svg .axis { stroke: var(--line); } svg .bar { fill: var(--accent); } svg .interval { stroke: var(--fg); stroke-width: 1.5; }
svg .edge { stroke: var(--muted); } svg .vertex { fill: var(--panel); stroke: var(--accent); stroke-width: 2; } svg .vertex.win { stroke: var(--good); stroke-width: 3; }
.chart svg { max-width: 100%; height: auto; background: #fff; border-radius: 6px; }
.chart svg text { fill: #000; }
.dialog { position: fixed; inset: 0; background: rgba(0,0,0,.45); display: flex; align-items: center; justify-content: center; padding: 1rem; }
.dialog .panel { max-width: 26rem; width: 100%; }
.error { color: var(--bad); }
@media (max-width: 600px) { main { padding: .6rem; } .top { padding: .5rem .6rem; } th, td { padding: .3rem; } .hide-narrow { display: none; } }
`
