import { compileAccess, type CompiledAccess } from '../src/access/index.ts'

// ACCESS documents compiled as the Worker compiles them, for the tests that read the result.

/** The compiled policy; a document that does not compile fails the test with its problems. */
export function compile(document: unknown): CompiledAccess {
  const result = compileAccess(document)
  if (!result.ok) throw new Error(result.problems.join('\n'))
  return result.access
}

/** The problems of a document that must not compile. */
export function problems(document: unknown): readonly string[] {
  const result = compileAccess(document)
  if (result.ok) throw new Error('expected problems, it compiled')
  return result.problems
}

/** A document of one route named `r`. */
export const oneRoute = (route: Record<string, unknown>) => ({
  routes: [{ name: 'r', ...route }],
})
