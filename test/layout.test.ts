import { describe, expect, it } from 'vitest'
import readme from '../README.md?raw'

// The README's Layout section is the map a newcomer reads first: every folder of src/ is on it.

const sourceFiles = Object.keys(
  import.meta.glob('../src/**/*.{ts,tsx}', {
    query: '?raw',
    import: 'default',
    eager: true,
  }),
)

function layoutSection(text: string): string {
  const start = text.indexOf('\n## Layout\n')
  const end = text.indexOf('\n## ', start + 1)
  return text.slice(start, end)
}

describe('the README layout', () => {
  it('names every folder of src/', () => {
    const folders = new Set(
      sourceFiles
        .map((path) => path.replace('../src/', '').split('/'))
        .filter((parts) => parts.length > 1)
        .map((parts) => `${parts[0]}/`),
    )
    expect(folders.size).toBeGreaterThan(10)
    const section = layoutSection(readme)
    const missing = [...folders].filter(
      (folder) => !new RegExp(`^  ${folder}\\s`, 'm').test(section),
    )
    expect(missing).toEqual([])
  })
})
