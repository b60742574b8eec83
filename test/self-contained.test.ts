import { describe, expect, it } from 'vitest'

// The project documents itself: no file points at documents outside the repository (a user of
// the project never has them).

const files = {
  ...import.meta.glob(['../{src,test,emulator,scripts,e2e,bench}/**/*.{ts,tsx,mts}'], {
    query: '?raw',
    import: 'default',
    eager: true,
  }),
  ...import.meta.glob(['../*.md', '../wrangler.toml', '../package.json'], {
    query: '?raw',
    import: 'default',
    eager: true,
  }),
} as Record<string, string>

const OUTSIDE =
  /\.\.\/shared|\b(ACCESS|SSO-MFA|DESIGN|REVOCATION|PROGRAMMATIC|AUDIT|TOOLCHAIN|CONVENTIONS|WORKOS-API(-SSO)?)\.md\b/

describe('the repository', () => {
  it('refers to no document outside itself', () => {
    expect(Object.keys(files).length).toBeGreaterThan(100)
    const pointing = Object.entries(files)
      .filter(([path, text]) => !path.endsWith('self-contained.test.ts') && OUTSIDE.test(text))
      .map(([path]) => path)
    expect(pointing).toEqual([])
  })
})
