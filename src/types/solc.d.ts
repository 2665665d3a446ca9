/** The one solc-js call Chorus uses at build time (solc ships no types). */
declare module 'solc' {
  const solc: {
    compile(input: string): string
    version(): string
  }
  export default solc
}
