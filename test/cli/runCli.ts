import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

/** Runs the built CLI (npm test builds before the tests); returns its exit code and all it printed. */
export async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', ['dist/src/cli/main.js', ...args])
    return { code: 0, out: stdout + stderr }
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string }
    return { code: err.code, out: err.stdout + err.stderr }
  }
}
