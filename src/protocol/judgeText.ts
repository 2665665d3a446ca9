/**
 * What a judge is shown of a text from an untrusted node, and of the client's question: the same
 * words, without the tricks that steer a model past them.
 *
 * - Invisible and formatting characters are removed: bidi overrides and isolates (which make a
 *   text read differently from how it is stored), zero-width characters, word joiners, soft
 *   hyphens, variation selectors and Unicode tag characters (which can spell hidden instructions).
 * - NFKC folds compatibility forms: fullwidth letters, ligatures, mathematical alphanumerics
 *   (𝐀𝐧𝐬𝐰𝐞𝐫 → Answer), so a disguised word reads as the word.
 * - Cyrillic and Greek look-alikes inside a word that also holds Latin letters are read as the
 *   Latin letters they imitate (a mixed-script "Аnswer" is "Answer"); a word wholly in Cyrillic
 *   or Greek is left alone.
 * - Control characters other than newline and tab go.
 *
 * Answers are then quoted (`quoteAnswer`): every line begins with "│ ", so nothing inside an answer
 * can start a line that looks like the prompt's own structure ("[End of answer A]", "Verdict:").
 */
// (Built with the constructor: the `v` flag, for the set difference, is newer than the compile
// target. The class lists invisible marks on purpose, the combining grapheme joiner among them.)
// eslint-disable-next-line no-misleading-character-class
const INVISIBLE = new RegExp(String.raw`[\p{Cf}\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u3164\uFE00-\uFE0F\uFFA0\u{E0000}-\u{E0FFF}]|[\p{Cc}--[\n\t]]`, 'gv')

/** Look-alikes of Latin letters (Unicode's confusables for the common cases). */
const LOOK_ALIKES: Record<string, string> = {
  // Cyrillic
  а: 'a', в: 'b', е: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x', і: 'i', ј: 'j', ѕ: 's', ԁ: 'd', ԛ: 'q', ԝ: 'w', ӏ: 'l',
  А: 'A', В: 'B', Е: 'E', К: 'K', М: 'M', Н: 'H', О: 'O', Р: 'P', С: 'C', Т: 'T', Х: 'X', І: 'I', Ј: 'J', Ѕ: 'S', Ү: 'Y',
  // Greek
  α: 'a', ο: 'o', ν: 'v', ρ: 'p', τ: 't', υ: 'u', ι: 'i', κ: 'k',
  Α: 'A', Β: 'B', Ε: 'E', Ζ: 'Z', Η: 'H', Ι: 'I', Κ: 'K', Μ: 'M', Ν: 'N', Ο: 'O', Ρ: 'P', Τ: 'T', Υ: 'Y', Χ: 'X',
}
const LOOK_ALIKE = new RegExp(`[${Object.keys(LOOK_ALIKES).join('')}]`, 'u')
const LOOK_ALIKES_ALL = new RegExp(LOOK_ALIKE.source, 'gu')
const WORD = /[\p{L}\p{M}]+/gu

export function judgeView(text: string): string {
  const visible = text.replace(INVISIBLE, '').normalize('NFKC')
  return visible.replace(WORD, (w) => (/[A-Za-z]/.test(w) && LOOK_ALIKE.test(w) ? w.replace(LOOK_ALIKES_ALL, (c) => LOOK_ALIKES[c]!) : w))
}

/** An answer as the judge's prompt quotes it: its judge view, every line behind "│ ". */
export function quoteAnswer(text: string): string {
  return judgeView(text)
    .split('\n')
    .map((line) => `│ ${line}`)
    .join('\n')
}
