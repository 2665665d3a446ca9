import type { SettingTypes } from './jsonConfig.js'

/** Command-line options every network process takes (`chorus node`, `chorus gateway`). */
export const NETWORK_OPTIONS = {
  key: { type: 'string' },
  listen: { type: 'string', multiple: true },
  bootstrap: { type: 'string', multiple: true },
  mdns: { type: 'boolean' },
  relay: { type: 'boolean' },
  config: { type: 'string' },
} as const

/** The config-file settings behind those options, with the type each must have. */
export const NETWORK_SETTINGS: SettingTypes = {
  key: 'string',
  listen: 'strings',
  bootstrap: 'strings',
  mdns: 'boolean',
  relay: 'boolean',
}
