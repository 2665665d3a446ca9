import { SeededRandom } from '../consensus/prng.js'
import { canonicalJson } from '../crypto/canonical.js'
import { hashParts } from '../crypto/hash.js'
import { type Identity, identitySeed } from '../crypto/identity.js'

/**
 * Known-answer items for proof of capability: a question, its right answer and a plausible wrong
 * one. The pool is endless and private: items are generated from a secret seed (the ledger
 * operator's) and a counter, so no two challenges share items and nobody can study the pool in
 * advance; an operator may add its own items (`extra`, from a file), each used at most once (its
 * reveal makes it public), mixed in among the generated ones. Each item is committed as
 * H(item‖salt) when it is handed out and revealed with its salt when graded, so every grading can
 * be replayed from the log. (The salt keeps a small item space from being guessed from its
 * commitment before the reveal.)
 */
export interface CalibrationItem {
  question: string
  right: string
  wrong: string
}

export interface SaltedItem extends CalibrationItem {
  salt: string
}

export function itemCommitment(item: SaltedItem): string {
  return hashParts('calibration-item', canonicalJson({ question: item.question, right: item.right, wrong: item.wrong }), item.salt)
}

const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']
const WORDS = ['apple', 'banana', 'cherry', 'delta', 'ember', 'falcon', 'garden', 'harbor', 'island', 'jungle', 'kettle', 'lantern', 'meadow', 'needle', 'orchard', 'pepper', 'quartz', 'river', 'saddle', 'timber', 'umbrella', 'violet', 'walnut', 'yellow', 'zephyr']

type Template = (r: SeededRandom) => CalibrationItem

/** A wrong result near the right one: one digit off, or off by a small amount. */
function nearMiss(r: SeededRandom, x: number): number {
  const off = [1, 2, 10, 100, 9, 11][r.nextInt(6)]!
  const y = r.nextInt(2) === 0 ? x + off : x - off
  return y === x || y < 0 ? x + 1 : y
}

const TEMPLATES: readonly Template[] = [
  (r) => {
    const a = 12 + r.nextInt(88)
    const b = 12 + r.nextInt(88)
    return { question: `What is ${a} × ${b}?`, right: `${a} × ${b} = ${a * b}. The answer is ${a * b}.`, wrong: `${a} × ${b} = ${nearMiss(r, a * b)}. The answer is ${nearMiss(r, a * b)}.` }
  },
  (r) => {
    const [a, b, c] = [r.nextInt(900) + 100, r.nextInt(900) + 100, r.nextInt(900) + 100]
    const s = a + b + c
    const w = nearMiss(r, s)
    return { question: `What is ${a} + ${b} + ${c}?`, right: `${a} + ${b} + ${c} = ${s}. The answer is ${s}.`, wrong: `${a} + ${b} + ${c} = ${w}. The answer is ${w}.` }
  },
  (r) => {
    const a = r.nextInt(9000) + 1000
    let b = r.nextInt(9000) + 1000
    if (b === a) b++
    const [big, small] = a > b ? [a, b] : [b, a]
    return { question: `Which number is larger, ${a} or ${b}?`, right: `${big} is larger than ${small}.`, wrong: `${small} is larger than ${big}.` }
  },
  (r) => {
    const d = r.nextInt(7)
    const k = 1 + r.nextInt(5)
    const right = DAYS[(d + k) % 7]!
    const wrong = DAYS[(d + k + 1 + r.nextInt(5)) % 7]!
    return { question: `If today is ${DAYS[d]}, what day of the week will it be in ${k} day${k === 1 ? '' : 's'}?`, right: `It will be ${right}.`, wrong: `It will be ${wrong}.` }
  },
  (r) => {
    const i = r.nextInt(WORDS.length)
    let j = r.nextInt(WORDS.length)
    if (j === i) j = (j + 1) % WORDS.length
    const [first, second] = WORDS[i]! < WORDS[j]! ? [WORDS[i]!, WORDS[j]!] : [WORDS[j]!, WORDS[i]!]
    return { question: `Which word comes first in alphabetical order: "${WORDS[i]}" or "${WORDS[j]}"?`, right: `"${first}" comes first.`, wrong: `"${second}" comes first.` }
  },
  (r) => {
    const n = 3 + r.nextInt(6)
    const price = 2 + r.nextInt(18)
    const paid = Math.ceil((n * price + 1) / 10) * 10 + 10 * r.nextInt(3)
    const change = paid - n * price
    const w = nearMiss(r, change)
    return { question: `${n} pens cost ${price} dollars each. I pay with ${paid} dollars. How much change do I get?`, right: `${n} × ${price} = ${n * price}, and ${paid} − ${n * price} = ${change}. The answer is ${change}.`, wrong: `${n} × ${price} = ${n * price}, and ${paid} − ${n * price} = ${w}. The answer is ${w}.` }
  },
]

/** The pool's secret seed, from the ledger operator's key (only the operator can know the items ahead). */
export function calibrationSeed(operator: Identity): string {
  return hashParts('calibration-seed', identitySeed(operator).toString('hex'))
}

/** The templates whose right answer ends in a number ("The answer is N."): what a hidden round asks. */
const NUMERIC = [0, 1, 5]

export class CalibrationPool {
  constructor(
    /** Secret: whoever knows it knows every item before it is issued. */
    private readonly seed: string,
    private readonly extra: readonly CalibrationItem[] = [],
  ) {}

  /**
   * The `slot`-th item the pool issues, with its salt: the same every time it is asked for. Slot
   * `s` may take the operator's item `s` (so each is issued at most once) or a generated one.
   */
  /**
   * The `slot`-th item as a hidden calibration round's question: a numeric one, so the members'
   * own answers can be graded against its known answer (consensus/answers.ts).
   */
  hiddenItem(slot: number): SaltedItem {
    const h = hashParts('calibration-hidden', this.seed, String(slot))
    const r = new SeededRandom(h)
    return { ...TEMPLATES[NUMERIC[r.nextInt(NUMERIC.length)]!]!(r), salt: hashParts('calibration-salt', h) }
  }

  item(slot: number): SaltedItem {
    const h = hashParts('calibration-pool', this.seed, String(slot))
    const r = new SeededRandom(h)
    const pick = r.nextInt(TEMPLATES.length + 1)
    const item = pick === TEMPLATES.length && slot < this.extra.length ? this.extra[slot]! : TEMPLATES[pick % TEMPLATES.length]!(r)
    return { ...item, salt: hashParts('calibration-salt', h) }
  }
}

/** Reads an operator's own items: JSON lines of {question, right, wrong}. Throws saying which line is wrong. */
export function parseCalibrationItems(text: string): CalibrationItem[] {
  const out: CalibrationItem[] = []
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return
    let v: unknown
    try {
      v = JSON.parse(line)
    } catch {
      throw new Error(`line ${i + 1} is not JSON`)
    }
    const o = v as Record<string, unknown>
    const ok = typeof o === 'object' && o !== null && ['question', 'right', 'wrong'].every((k) => typeof o[k] === 'string' && (o[k] as string).length > 0 && (o[k] as string).length <= 4_000)
    if (!ok || o.right === o.wrong) throw new Error(`line ${i + 1} is not {question, right, wrong} (three different non-empty strings up to 4 000 characters)`)
    out.push({ question: o.question as string, right: o.right as string, wrong: o.wrong as string })
  })
  return out
}
