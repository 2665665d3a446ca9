import { type ChildProcess, spawn } from 'node:child_process'
import { cpus } from 'node:os'
import { afterEach, describe, expect, it } from 'vitest'
import { HostLoadSampler, LoadGovernor, runGovernor } from '../../src/node/loadGovernor.js'

describe('the load governor', () => {
  it('pauses after sustained load, not a spike, and resumes only below the lower threshold', () => {
    const g = new LoadGovernor({ pauseAbove: 0.8, resumeBelow: 0.5, samplesToPause: 3 })
    for (const s of [0.9, 0.95, 0.2]) g.sample(s)
    expect(g.state(12)).toBe('joining') // a spike of two samples
    for (const s of [0.85, 0.9, 0.99]) g.sample(s)
    expect(g.state(12)).toBe('paused: busy')
    g.sample(0.6) // below the pause threshold, above the resume one: still paused (hysteresis)
    expect(g.state(12)).toBe('paused: busy')
    g.sample(0.4)
    expect(g.state(12)).toBe('joining')
    expect(() => new LoadGovernor({ pauseAbove: 0.5, resumeBelow: 0.5, samplesToPause: 1 })).toThrow(/below/)
  })

  it('keeps quiet hours, across midnight too', () => {
    const g = new LoadGovernor({ pauseAbove: 1.01, resumeBelow: 0.5, samplesToPause: 1, quietHours: { from: 22, to: 7 } })
    expect([21, 22, 23, 0, 6, 7].map((h) => g.state(h))).toEqual(['joining', 'paused: quiet hours', 'paused: quiet hours', 'paused: quiet hours', 'paused: quiet hours', 'joining'])
    const day = new LoadGovernor({ pauseAbove: 1.01, resumeBelow: 0.5, samplesToPause: 1, quietHours: { from: 9, to: 17 } })
    expect([8, 9, 16, 17].map((h) => day.state(h))).toEqual(['joining', 'paused: quiet hours', 'paused: quiet hours', 'joining'])
  })

  describe('on this machine', () => {
    let burners: ChildProcess[] = []
    afterEach(() => {
      for (const b of burners) b.kill('SIGKILL')
      burners = []
    })

    it('stops joining while other processes burn every core, and joins again once they stop', async () => {
      const stop = new AbortController()
      const changes: string[] = []
      // Every core busy is a share of about 1; with the burners gone the machine falls back to what
      // else runs here (other test workers: at most about one core of two).
      const joining = runGovernor(new LoadGovernor({ pauseAbove: 0.9, resumeBelow: 0.7, samplesToPause: 2 }), {
        everyMs: 250,
        signal: stop.signal,
        sampler: new HostLoadSampler(),
        onChange: (s) => changes.push(s),
      })
      const until = async (want: boolean, ms: number) => {
        const end = Date.now() + ms
        while (joining() !== want && Date.now() < end) await new Promise((r) => setTimeout(r, 100))
        return joining()
      }
      try {
        expect(await until(true, 10_000)).toBe(true)
        burners = cpus().map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }))
        expect(await until(false, 15_000)).toBe(false)
        for (const b of burners) b.kill('SIGKILL')
        burners = []
        expect(await until(true, 15_000)).toBe(true)
        expect(changes).toContain('paused: busy')
        expect(changes.at(-1)).toBe('joining')
      } finally {
        stop.abort()
      }
    }, 45_000)
  })
})
