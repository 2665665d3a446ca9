import { randomBytes } from 'node:crypto'

/** A fresh 32-byte commitment salt. Runtimes take this as a component so tests can fix it. */
export type SaltSource = () => string

export const randomSalt: SaltSource = () => randomBytes(32).toString('hex')
