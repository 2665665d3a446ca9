/**
 * Server-sent events from a byte stream (the WHATWG algorithm): lines end in LF, CRLF or CR;
 * lines starting with ":" are comments (keep-alives); `data:` lines accumulate; a blank line
 * dispatches the event. A stream that ends mid-event dispatches nothing for it.
 */
export interface SseEvent {
  event: string
  data: string
  id?: string
}

/** `onComment`: each comment line's text (a gateway's `: phase …` progress), as it arrives. */
export async function* parseSse(stream: AsyncIterable<Uint8Array>, onComment?: (text: string) => void): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder()
  let buffer = ''
  let data: string[] = []
  let event = ''
  let id: string | undefined
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true })
    let start = 0
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer[i]
      if (c !== '\n' && c !== '\r') continue
      // A CR at the very end may be the first half of CRLF: wait for the next chunk.
      if (c === '\r' && i === buffer.length - 1) break
      const line = buffer.slice(start, i)
      if (c === '\r' && buffer[i + 1] === '\n') i++
      start = i + 1
      if (line === '') {
        if (data.length > 0) yield { event: event || 'message', data: data.join('\n'), ...(id === undefined ? {} : { id }) }
        data = []
        event = ''
        continue
      }
      if (line.startsWith(':')) {
        onComment?.(line.slice(1).trimStart())
        continue
      }
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      let value = colon < 0 ? '' : line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
      if (field === 'data') data.push(value)
      else if (field === 'event') event = value
      else if (field === 'id') id = value
    }
    buffer = buffer.slice(start)
  }
}
