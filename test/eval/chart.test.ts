import { describe, expect, it } from 'vitest'
import { accuracyChartSvg } from '../../src/eval/chart.js'

const e = (mean: number) => ({ mean, lo: mean - 0.02, hi: mean + 0.02 })

describe('the accuracy chart', () => {
  it('draws one polyline per series with higher accuracy higher up, reference lines across, and a legend', () => {
    const svg = accuracyChartSvg({
      title: 'gsm <test> & more',
      xLabel: 'judge accuracy',
      yLabel: 'accuracy (%)',
      xs: [0.6, 0.7, 0.8],
      series: [
        { label: 'swarm', points: [e(0.9), e(0.95), e(0.97)] },
        { label: 'weighted BT', points: [e(0.8), undefined, e(0.96)], dashed: true },
      ],
      references: [{ label: 'majority vote', value: 0.93 }],
    })
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true)
    expect(svg).toContain('gsm &lt;test&gt; &amp; more')
    const lines = [...svg.matchAll(/<polyline points="([^"]+)"/g)].map((m) => m[1]!.split(' ').map((p) => p.split(',').map(Number)))
    expect(lines).toHaveLength(2)
    expect(lines[0]).toHaveLength(3)
    expect(lines[1]).toHaveLength(2) // the gap is left out
    const [p0, p1, p2] = lines[0]!
    expect(p0![0]).toBeLessThan(p1![0]!)
    expect(p2![1]).toBeLessThan(p0![1]!) // SVG y grows downward
    expect(svg).toContain('majority vote 93.0')
    expect(svg).toContain('stroke-dasharray="6 4"')
  })

  it('refuses an empty chart', () => {
    expect(() => accuracyChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', xs: [], series: [], references: [] })).toThrow(RangeError)
  })
})
