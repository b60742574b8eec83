import { describe, expect, it } from 'vitest'
import { compileAccess, lintSignInHost, type CompiledAccess } from '../src/access/index.ts'

// `npm run access -- lint` tells a single-host deployment plainly what an origin on its host can
// do, and that a catch-all route never reaches the sign-in host.

function compiled(routes: unknown[]): CompiledAccess {
  const result = compileAccess({ routes })
  if (!result.ok) throw new Error(result.problems.join('\n'))
  return result.access
}

describe('where people sign in', () => {
  it('warns a deployment without SIGN_IN_HOST that same-host scripts act as the person', () => {
    const warnings = lintSignInHost(compiled([{ name: 'app', path: '/*' }]), undefined)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/SIGN_IN_HOST is not set/)
    expect(warnings[0]).toMatch(/runs as the signed-in person/)
  })

  it('with SIGN_IN_HOST, names the routes whose host pattern covers it but never serve it', () => {
    const access = compiled([
      { name: 'app', host: 'app.example.com' },
      { name: 'wild', host: '*.example.com', public: true },
      { name: 'rest', path: '/*' },
    ])
    const warnings = lintSignInHost(access, 'auth.example.com')
    expect(warnings.map((w) => w.split(' ')[0])).toEqual(['routes[1]', 'routes[2]'])
    expect(warnings[0]).toMatch(/never serves auth\.example\.com/)
    expect(
      lintSignInHost(compiled([{ name: 'app', host: 'app.example.com' }]), 'auth.example.com'),
    ).toEqual([])
  })
})
