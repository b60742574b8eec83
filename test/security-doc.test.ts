import { describe, expect, it } from 'vitest'
import securityDoc from '../SECURITY.md?raw'

// SECURITY.md writes down a guarantee only with the test that proves it: every `file › name` it
// cites must be a test of that name in that file, so a renamed or deleted test cannot leave a
// claim behind.

const testSources = {
  ...import.meta.glob('./*.test.ts', { query: '?raw', import: 'default', eager: true }),
  ...import.meta.glob('../e2e/*.test.ts', { query: '?raw', import: 'default', eager: true }),
} as Record<string, string>

function sourceOf(file: string): string | undefined {
  const path = file.startsWith('e2e/') ? `../${file}.test.ts` : `./${file}.test.ts`
  return testSources[path]
}

/** Every cited test, in the order written: `file › name`, or `› name` for the same file. */
function citations(markdown: string): { file: string; name: string }[] {
  const cited: { file: string; name: string }[] = []
  let file = ''
  for (const [, span] of markdown.matchAll(/`([^`\n]*›[^`\n]*)`/g)) {
    const [, before, name] = /^(.*?)\s*›\s*(.+)$/.exec(span!) as unknown as [string, string, string]
    if (before) file = before
    cited.push({ file, name: name.trim() })
  }
  return cited
}

describe('SECURITY.md', () => {
  const cited = citations(securityDoc)

  it('cites tests', () => {
    expect(cited.length).toBeGreaterThan(60)
  })

  it('cites only tests that exist, by their exact names', () => {
    const missing = cited.filter(({ file, name }) => {
      const source = sourceOf(file)
      const quoted = [`'${name.replaceAll("'", "\\'")}'`, `"${name}"`, `\`${name}\``]
      return source === undefined || !quoted.some((literal) => source.includes(literal))
    })
    expect(missing).toEqual([])
  })
})
