/** Lowercase hex of exactly `chars` characters (a char-code loop: ~3× a regex on this hot path). */
export function isLowerHex(v: string, chars: number): boolean {
  if (v.length !== chars) return false
  for (let i = 0; i < chars; i++) {
    const c = v.charCodeAt(i)
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false
  }
  return true
}
