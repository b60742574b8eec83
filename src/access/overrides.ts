// `_method`: Rails (Rack::MethodOverride), Laravel and Symfony, Spring's HiddenHttpMethodFilter,
// ASP.NET Core's method override and Express's method-override act on a POST as the method a
// `_method` field names, in the query or the form body (Laravel: in a JSON body too). A body cannot
// be stripped of it without rewriting it, so every method the origin may act on is decided: the
// same route must take each, and each must be allowed. The parsing here is deliberately wider than
// any one framework's (a name any of them reads as `_method` counts), because a narrower reading
// than the origin's is a bypass and a wider one only decides once more.
import { decide, dependsOnMethod, matchRoute } from './decide.ts'
import type {
  CompiledAccess,
  CompiledRoute,
  DecideOptions,
  Decision,
  Principal,
  RequestFacts,
  RuleVerdict,
} from './types.ts'

/**
 * Whether a field name (decoded: `%5Fmethod` is `_method`) is `_method` to some framework: in any
 * case (`_METHOD`), with leading spaces, with `.` or a space for the `_` (PHP reads `.method` as
 * `_method`), as an array (`_method[]`), or cut short by a NUL (PHP reads up to it).
 */
export function isOverrideName(name: string): boolean {
  let end = name.length
  for (const stop of ['[', '\0']) {
    const at = name.indexOf(stop)
    if (at !== -1 && at < end) end = at
  }
  return OVERRIDE_NAME.test(end === name.length ? name : name.slice(0, end))
}

const OVERRIDE_NAME = /^\s*[_. ]method$/i

/**
 * Adds the values of `_method` fields in `a=1&b=2` text (a query without its `?`, or an urlencoded
 * body) to `values`. Split on `&` and on `;` (older Rack), decoded as forms are (`+` is a space),
 * byte by byte, so a malformed escape is kept as sent (as PHP does) instead of failing.
 */
export function overrideValuesIn(text: string, values: string[]): void {
  if (!MAY_NAME_OVERRIDE.test(text)) return
  for (const field of text.split(FIELD_SEPARATOR)) {
    const equals = field.indexOf('=')
    const name = decodeFormText(equals === -1 ? field : field.slice(0, equals))
    if (isOverrideName(name))
      values.push(equals === -1 ? '' : decodeFormText(field.slice(equals + 1)))
  }
}

// `method` spelled out, or an escape that could spell part of it.
const MAY_NAME_OVERRIDE = /method|%/i
const FIELD_SEPARATOR = /[&;]/
const ESCAPED_BYTE = /%([0-9a-fA-F]{2})/g

function decodeFormText(text: string): string {
  const spaced = text.includes('+') ? text.replace(/\+/g, ' ') : text
  return spaced.includes('%')
    ? spaced.replace(ESCAPED_BYTE, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    : spaced
}

export type OverrideMethods =
  { readonly ok: true; readonly methods: readonly string[] } | { readonly ok: false }

const NONE: OverrideMethods = Object.freeze({ ok: true, methods: Object.freeze([]) })
const NOT_ONE_METHOD: OverrideMethods = Object.freeze({ ok: false })
// RFC 9110 token, as route methods are written.
const METHOD = /^[A-Z0-9!#$%&'*+.^_`|~-]+$/
// Longer than any method in use (the longest registered is 16): it ends up in logs and messages.
const MAX_METHOD_LENGTH = 32

/**
 * The method the `_method` values name, uppercased as the frameworks do, unless it is the request's
 * own. A value that is not a method, or two different ones (frameworks disagree on which wins), is
 * not one method: the caller refuses the request.
 */
export function overrideMethods(values: readonly string[], own: string): OverrideMethods {
  let method: string | undefined
  for (const value of values) {
    const upper = value.toUpperCase()
    if (!METHOD.test(upper) || upper.length > MAX_METHOD_LENGTH) return NOT_ONE_METHOD
    if (method !== undefined && method !== upper) return NOT_ONE_METHOD
    method = upper
  }
  if (method === undefined || method === own.toUpperCase()) return NONE
  return { ok: true, methods: [method] }
}

/**
 * The methods a query (without its `?`) names in `_method` besides the request's own, looked for
 * only where the method could change the route or the decision for this host and path
 * (dependsOnMethod). Forward-auth and the check tool decide with it, never seeing a body; the gate
 * adds a POST form's own fields (src/gate/method-override.ts).
 */
export function queryOverrides(
  access: CompiledAccess,
  request: { readonly host: string; readonly path: string; readonly method: string },
  query: string,
): OverrideMethods {
  if (query === '' || !dependsOnMethod(access, request)) return NONE
  const values: string[] = []
  overrideValuesIn(query, values)
  return overrideMethods(values, request.method)
}

/** The first override that another route (or no route) would take; undefined when `route` takes all. */
export function overrideRoutedElsewhere(
  access: CompiledAccess,
  request: { readonly host: string; readonly path: string },
  route: CompiledRoute | undefined,
  overrides: readonly string[],
): string | undefined {
  for (const method of overrides)
    if (matchRoute(access, { host: request.host, path: request.path, method }) !== route)
      return method
  return undefined
}

/**
 * The decision for the request's own method and for each method the origin may act on instead:
 * the first that is not `allow` decides. With `explain`, every method's verdicts, each override's
 * introduced by an `as DELETE` line.
 */
export function decideMethods(
  route: CompiledRoute,
  facts: RequestFacts,
  overrides: readonly string[],
  principal: Principal,
  options?: DecideOptions,
): Decision {
  let decision = decide(route, facts, principal, options)
  for (const method of overrides) {
    if (decision.outcome !== 'allow' && !options?.explain) return decision
    const also = decide(route, { ...facts, method }, principal, options)
    const verdicts: readonly RuleVerdict[] = options?.explain
      ? [
          ...decision.verdicts,
          {
            rule: `as ${method}`,
            matched: also.outcome === 'allow',
            detail: 'a _method override the origin may act on, decided as well',
          },
          ...also.verdicts,
        ]
      : decision.verdicts
    decision = { ...(decision.outcome === 'allow' ? also : decision), verdicts }
  }
  return decision
}
