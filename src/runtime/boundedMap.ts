/**
 * A Map that keeps at most `max` entries, forgetting the least recently set first. For tables a
 * stranger can grow (one entry per key pair that ever wrote to us): they stay bounded.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>()

  constructor(private readonly max: number) {
    if (!(max >= 1)) throw new RangeError('a bounded map holds at least one entry')
  }

  get size(): number {
    return this.map.size
  }

  get(key: K): V | undefined {
    return this.map.get(key)
  }

  has(key: K): boolean {
    return this.map.has(key)
  }

  set(key: K, value: V): void {
    this.map.delete(key)
    this.map.set(key, value)
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K)
  }

  values(): IterableIterator<V> {
    return this.map.values()
  }
}
