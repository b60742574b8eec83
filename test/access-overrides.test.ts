import { describe, expect, it } from 'vitest'
import {
  compileAccess,
  decideMethods,
  dependsOnMethod,
  isOverrideName,
  overrideMethods,
  overrideRoutedElsewhere,
  overrideValuesIn,
  type CompiledAccess,
  type Principal,
  type RequestFacts,
} from '../src/access/index.ts'

// `_method`, read as widely as any framework reads it: a narrower reading than the origin's would
// let a POST act as a DELETE past a method rule. The Worker's answers are in access-gate.test.ts.

function compile(document: unknown): CompiledAccess {
  const result = compileAccess(document)
  if (!result.ok) throw new Error(result.problems.join('\n'))
  return result.access
}

const valuesIn = (text: string) => {
  const values: string[] = []
  overrideValuesIn(text, values)
  return values
}

describe('which fields are _method', () => {
  it.each([
    '_method',
    '_METHOD',
    '_Method',
    '.method', // PHP reads "." in a name as "_"
    ' method',
    '  _method', // PHP drops leading spaces
    '_method[]',
    '_method[x]',
    '_method\0junk', // PHP reads a name up to a NUL
  ])('%j is', (name) => {
    expect(isOverrideName(name)).toBe(true)
  })

  it.each(['method', '_methods', 'x_method', 'payment_method', '__method', '[_method', ''])(
    '%j is not',
    (name) => {
      expect(isOverrideName(name)).toBe(false)
    },
  )

  it('names and values are decoded as forms are, byte by byte, and split on & and ;', () => {
    expect(valuesIn('a=1&_method=DELETE')).toEqual(['DELETE'])
    expect(valuesIn('%5Fmethod=PUT&%5f%6d%65%74%68%6f%64=patch')).toEqual(['PUT', 'patch'])
    expect(valuesIn('a=1;_method=DELETE')).toEqual(['DELETE'])
    expect(valuesIn('_method=put+it&_method')).toEqual(['put it', ''])
    expect(valuesIn('_method=%zz&%zz_method=1')).toEqual(['%zz'])
    expect(valuesIn('name=method&payment_method=card&q=%25')).toEqual([])
    expect(valuesIn('')).toEqual([])
  })
})

describe('the method an override names', () => {
  it('is uppercased, and none when it is the request’s own', () => {
    expect(overrideMethods(['delete'], 'POST')).toEqual({ ok: true, methods: ['DELETE'] })
    expect(overrideMethods(['Patch', 'PATCH'], 'POST')).toEqual({ ok: true, methods: ['PATCH'] })
    expect(overrideMethods(['post'], 'POST')).toEqual({ ok: true, methods: [] })
    expect(overrideMethods([], 'GET')).toEqual({ ok: true, methods: [] })
  })

  it('is refused when it is not one method: empty, not a token, too long, or two of them', () => {
    for (const values of [[''], ['DEL ETE'], ['GET\r\n'], ['X'.repeat(33)], ['PUT', 'DELETE']])
      expect(overrideMethods(values, 'POST')).toEqual({ ok: false })
  })
})

describe('deciding an override', () => {
  const access = compile({
    routes: [
      { name: 'erase', path: '/records/*', methods: ['DELETE'], allow: [{ everyone: true }] },
      { name: 'items', path: '/items/*', deny: [{ methods: ['DELETE'] }] },
      { name: 'reads', path: '/reads/*', allow: [{ methods: ['GET'] }] },
      { name: 'plain', path: '/*' },
    ],
  })
  const at = (path: string) => ({ host: 'app.example.com', path })
  const person: Principal = {
    kind: 'person',
    email: 'ada@example.com',
    userId: 'user_ada',
    signedInAt: Date.UTC(2026, 0, 1),
    authMethod: 'code',
  }
  const facts = (path: string, method = 'POST'): RequestFacts => ({
    ...at(path),
    method,
    ip: '',
    country: undefined,
    now: Date.UTC(2026, 0, 1),
  })
  const named = (name: string) => access.routes.find((r) => r.name === name)!

  it('matters only where a route lists methods or the deciding route has a rule on them', () => {
    expect(dependsOnMethod(access, at('/records/1'))).toBe(true)
    expect(dependsOnMethod(access, at('/ITEMS/1'))).toBe(true)
    expect(dependsOnMethod(access, at('/reads/1'))).toBe(true)
    expect(dependsOnMethod(access, at('/other'))).toBe(false)
  })

  it('must reach the route the request’s own method reaches', () => {
    const plain = named('plain')
    expect(overrideRoutedElsewhere(access, at('/records/1'), plain, ['DELETE'])).toBe('DELETE')
    expect(overrideRoutedElsewhere(access, at('/records/1'), plain, ['PUT'])).toBeUndefined()
  })

  it('is allowed only when the request’s own method and the override both are', () => {
    const items = named('items')
    expect(decideMethods(items, facts('/items/1'), ['DELETE'], person).outcome).toBe('deny')
    expect(decideMethods(items, facts('/items/1'), ['PATCH'], person).outcome).toBe('allow')
    const reads = named('reads')
    expect(decideMethods(reads, facts('/reads/1', 'GET'), ['POST'], person).outcome).toBe('deny')
    // The request's own refusal stands whatever the override.
    expect(decideMethods(reads, facts('/reads/1', 'POST'), ['GET'], person).outcome).toBe('deny')
  })

  it('explains each method the check tool decided on', () => {
    const items = named('items')
    const explained = decideMethods(items, facts('/items/1'), ['DELETE'], person, {
      explain: true,
    })
    expect(explained.outcome).toBe('deny')
    expect(explained.verdicts.map((v) => `${v.rule}: ${v.matched}`)).toEqual([
      'deny[0]: false',
      'allow: true',
      'as DELETE: false',
      'deny[0]: true',
      'allow: true',
    ])
  })
})
