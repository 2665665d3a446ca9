import { availableParallelism } from 'node:os'

/**
 * Sizes libuv's thread pool (where signatures are verified) to the cores: more threads than cores
 * only adds switching to CPU-bound work. libuv reads UV_THREADPOOL_SIZE when the pool first starts,
 * so an entry point calls this before anything uses the pool; an explicit setting wins.
 */
export function sizeThreadPoolToCores(env: NodeJS.ProcessEnv = process.env): void {
  env.UV_THREADPOOL_SIZE ??= String(Math.max(2, availableParallelism()))
}
