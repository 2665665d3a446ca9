import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

/** Runs the built CLI (npm test builds before the tests); returns its exit code and all it printed. */
export async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const running = promisify(execFile)('node', ['dist/src/cli/main.js', ...args])
    // Nothing on stdin (a command that reads it sees its end at once).
    running.child.stdin?.end()
    const { stdout, stderr } = await running
    return { code: 0, out: stdout + stderr }
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string }
    return { code: err.code, out: err.stdout + err.stderr }
  }
}
