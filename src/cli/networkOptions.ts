/** Command-line options every network process takes (`chorus node`, `chorus gateway`). */
export const NETWORK_OPTIONS = {
  key: { type: 'string' },
  listen: { type: 'string', multiple: true },
  bootstrap: { type: 'string', multiple: true },
  mdns: { type: 'boolean' },
  relay: { type: 'boolean' },
  config: { type: 'string' },
} as const
