/**
 * The Markdown that `chorus eval --out` writes, read into plain blocks the dashboard renders as
 * text: headings, paragraphs, list items, tables and code. Only that much Markdown, on purpose:
 * nothing in a report becomes HTML, so a report can carry no markup, link or script into the page.
 * Inline emphasis and code marks are dropped from the text.
 */
export type Block =
  | { kind: 'heading'; level: number; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; header: string[]; rows: string[][] }
  | { kind: 'code'; text: string }

const inline = (s: string) => s.replace(/\*\*(.+?)\*\*/g, '$1').replace(/`([^`]*)`/g, '$1').replace(/(^|\W)_(.+?)_(\W|$)/g, '$1$2$3').trim()
const cells = (line: string) => line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => inline(c))
const isRule = (line: string) => /^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/.test(line.trim())

export function markdownBlocks(text: string): Block[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n')
  const blocks: Block[] = []
  let i = 0
  while (i < lines.length) {
    const line = lines[i]!
    if (line.trim() === '') {
      i++
      continue
    }
    if (line.startsWith('```')) {
      const body: string[] = []
      for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!)
      i++
      blocks.push({ kind: 'code', text: body.join('\n') })
      continue
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line)
    if (heading) {
      blocks.push({ kind: 'heading', level: heading[1]!.length, text: inline(heading[2]!) })
      i++
      continue
    }
    if (line.trim().startsWith('|') && i + 1 < lines.length && isRule(lines[i + 1]!)) {
      const header = cells(line)
      const rows: string[][] = []
      for (i += 2; i < lines.length && lines[i]!.trim().startsWith('|'); i++) rows.push(cells(lines[i]!))
      blocks.push({ kind: 'table', header, rows })
      continue
    }
    if (/^\s*[-*]\s+/.test(line)) {
      const items: string[] = []
      for (; i < lines.length && /^\s*[-*]\s+/.test(lines[i]!); i++) items.push(inline(lines[i]!.replace(/^\s*[-*]\s+/, '')))
      blocks.push({ kind: 'list', items })
      continue
    }
    const para: string[] = []
    for (; i < lines.length && lines[i]!.trim() !== '' && !/^(#{1,6}\s|```|\s*[-*]\s+|\s*\|)/.test(lines[i]!); i++) para.push(lines[i]!.trim())
    if (para.length === 0) {
      // A line no rule above took (a lone table row, say): keep it as text.
      para.push(line.trim())
      i++
    }
    blocks.push({ kind: 'paragraph', text: inline(para.join(' ')) })
  }
  return blocks
}
