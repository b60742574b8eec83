// The one decision function: the Worker calls it per request, the check tool calls it with
// `explain`. Without `explain` it allocates a little state per request and nothing per rule.
import { ipInRange, parseIp, type IpAddress } from './ip.ts'
import { hostMatches, normaliseHost, pathMatches, RequestPath } from './paths.ts'
import type {
  CompiledAccess,
  CompiledRoute,
  ConditionKey,
  ConditionSet,
  DecideOptions,
  Decision,
  Evaluation,
  Principal,
  RequestFacts,
  RuleVerdict,
} from './types.ts'

const NO_VERDICTS: readonly RuleVerdict[] = Object.freeze([])
const NO_ROUTE: Evaluation = Object.freeze({ outcome: 'no_route' })
// The decisions that name no condition set, made once: most requests get one of these.
const ALLOW_PUBLIC: Decision = Object.freeze({
  outcome: 'allow',
  rule: 'public',
  verdicts: NO_VERDICTS,
})
const ALLOW_SIGNED_IN: Decision = Object.freeze({
  outcome: 'allow',
  rule: 'signed-in',
  verdicts: NO_VERDICTS,
})
const SIGN_IN: Decision = Object.freeze({
  outcome: 'sign_in',
  rule: undefined,
  verdicts: NO_VERDICTS,
})

/**
 * The first route whose host, path and methods match; `path` must have passed checkPath (under
 * ACCESS). The host, path and method are each put in the form routes compare them in only when a
 * route looks at them: a catch-all route (most requests without ACCESS) costs no copy at all.
 */
export function matchRoute(
  access: CompiledAccess,
  request: { readonly host: string; readonly path: string; readonly method: string },
): CompiledRoute | undefined {
  let host: string | undefined
  let method: string | undefined
  let path: RequestPath | undefined
  for (const route of access.routes) {
    if (
      (route.host.kind === 'any' ||
        hostMatches(route.host, (host ??= normaliseHost(request.host)))) &&
      (route.path.kind === 'all' ||
        pathMatches(route.path, (path ??= new RequestPath(request.path)))) &&
      (route.methods === undefined || route.methods.has((method ??= request.method.toUpperCase())))
    )
      return route
  }
  return undefined
}

/**
 * Whether the method could change the route or the decision for this host and path: a route that
 * takes it lists `methods`, or the first route that takes every method has a rule on `methods`.
 * Where it cannot, a method override (`_method`) is not worth looking for.
 */
export function dependsOnMethod(
  access: CompiledAccess,
  request: { readonly host: string; readonly path: string },
): boolean {
  const host = normaliseHost(request.host)
  const path = new RequestPath(request.path)
  for (const route of access.routes) {
    if (!hostMatches(route.host, host) || !pathMatches(route.path, path)) continue
    if (route.methods !== undefined) return true
    return hasMethodRule(route.deny) || (route.allow !== undefined && hasMethodRule(route.allow))
  }
  return false
}

const hasMethodRule = (sets: readonly ConditionSet[]) => sets.some((set) => set.methods)

export function evaluate(
  access: CompiledAccess,
  facts: RequestFacts,
  principal: Principal,
  options?: DecideOptions,
): Evaluation {
  const route = matchRoute(access, facts)
  if (!route) return NO_ROUTE
  const decision = decide(route, facts, principal, options)
  return { outcome: decision.outcome, rule: decision.rule, verdicts: decision.verdicts, route }
}

export function decide(
  route: CompiledRoute,
  facts: RequestFacts,
  principal: Principal,
  options?: DecideOptions,
): Decision {
  if (!options?.explain) {
    if (route.public) return ALLOW_PUBLIC
    if (principal === null) return SIGN_IN
    // Any signed-in person, nothing else asked (PUBLIC_PATHS's catch-all, many ACCESS routes):
    // decided without looking at the request.
    if (
      principal.kind === 'person' &&
      route.allow === undefined &&
      route.deny.length === 0 &&
      route.maxSignInAge === undefined
    )
      return ALLOW_SIGNED_IN
  }
  const verdicts: RuleVerdict[] | undefined = options?.explain ? [] : undefined
  const done = (outcome: Decision['outcome'], rule: string | undefined): Decision => ({
    outcome,
    rule,
    verdicts: verdicts ?? NO_VERDICTS,
  })

  if (route.public) {
    verdicts?.push({ rule: 'public', matched: true, detail: 'public route: no sign-in needed' })
    return done('allow', 'public')
  }
  if (principal === null) {
    verdicts?.push({ rule: 'sign-in', matched: false, detail: 'no session and no service token' })
    return done('sign_in', undefined)
  }

  const request = new RequestView(facts, principal)

  // Deny first: any matching set refuses, whatever `allow` says.
  let denied: string | undefined
  for (const set of route.deny) {
    if (verdicts) {
      const verdict = explainSet(set, request)
      verdicts.push(verdict)
      if (verdict.matched) denied ??= set.label
    } else if (setMatches(set, request, false)) {
      return done('deny', set.label)
    }
  }

  let allowed: string | undefined
  let needsMfa: string | undefined
  if (route.allow === undefined) {
    const person = principal.kind === 'person'
    if (person) allowed = 'signed-in'
    verdicts?.push({
      rule: 'allow',
      matched: person,
      detail: person
        ? 'not set: any signed-in person'
        : 'not set: any signed-in person (a service token is not a person)',
    })
  } else {
    for (const set of route.allow) {
      if (verdicts) {
        const verdict = explainSet(set, request)
        verdicts.push(verdict)
        if (verdict.matched) allowed ??= set.label
        else if (verdict.detail.endsWith(WOULD_MATCH_AFTER_MFA)) needsMfa ??= set.label
      } else if (setMatches(set, request, false)) {
        allowed = set.label
        break
      }
    }
    // Only worth a second look when a set asks for MFA and the person has not passed it.
    if (!verdicts && allowed === undefined && principal.kind === 'person' && !principal.mfa) {
      for (const set of route.allow) {
        if (set.mfa && setMatches(set, request, true)) {
          needsMfa = set.label
          break
        }
      }
    }
  }

  if (denied !== undefined) return done('deny', denied)
  if (allowed === undefined) {
    return needsMfa === undefined ? done('deny', undefined) : done('mfa_required', needsMfa)
  }
  if (route.maxSignInAge !== undefined && principal.kind === 'person') {
    const age = facts.now - principal.signedInAt
    const fresh = age <= route.maxSignInAge * 1000
    verdicts?.push({
      rule: 'maxSignInAge',
      matched: fresh,
      detail: `signed in ${Math.floor(age / 1000)} s ago; at most ${route.maxSignInAge} s allowed`,
    })
    if (!fresh) return done('reauthenticate', 'maxSignInAge')
  }
  return done('allow', allowed)
}

const WOULD_MATCH_AFTER_MFA = 'would match after MFA'

/**
 * The request as conditions see it. Derived values (the parsed client address, the email's
 * domain) are computed on first use, at most once per request.
 */
class RequestView {
  readonly facts: RequestFacts
  readonly principal: Exclude<Principal, null>
  readonly method: string
  private address: IpAddress | null | undefined
  private lowerEmail: string | undefined
  private emailDomain: string | undefined

  // No parameter properties: Node's type stripping (the check tool) cannot run them.
  constructor(facts: RequestFacts, principal: Exclude<Principal, null>) {
    this.facts = facts
    this.principal = principal
    this.method = facts.method.toUpperCase()
  }

  ip(): IpAddress | null {
    if (this.address === undefined) this.address = parseIp(this.facts.ip) ?? null
    return this.address
  }

  email(): string {
    if (this.lowerEmail === undefined)
      this.lowerEmail = this.principal.kind === 'person' ? this.principal.email.toLowerCase() : ''
    return this.lowerEmail
  }

  domain(): string {
    if (this.emailDomain === undefined) {
      const email = this.email()
      this.emailDomain = email.slice(email.lastIndexOf('@') + 1)
    }
    return this.emailDomain
  }
}

/** The principal kind gate: a token only meets sets naming serviceTokens, a person only others. */
function kindMatches(set: ConditionSet, principal: Exclude<Principal, null>): boolean {
  return principal.kind === 'service'
    ? set.serviceTokens !== undefined
    : set.serviceTokens === undefined
}

function setMatches(set: ConditionSet, request: RequestView, assumeMfa: boolean): boolean {
  if (!kindMatches(set, request.principal)) return false
  for (const key of set.keys) if (!keyMatches(set, key, request, assumeMfa)) return false
  return true
}

function keyMatches(
  set: ConditionSet,
  key: ConditionKey,
  request: RequestView,
  assumeMfa: boolean,
): boolean {
  const { principal, facts } = request
  const person = principal.kind === 'person' ? principal : undefined
  switch (key) {
    case 'everyone':
      return person !== undefined
    case 'emails':
      return person !== undefined && set.emails!.has(request.email())
    case 'domains': {
      if (!person) return false
      const domain = request.domain()
      const { exact, suffixes } = set.domains!
      if (exact.has(domain)) return true
      for (const suffix of suffixes) if (domain.endsWith(suffix)) return true
      return false
    }
    case 'ips': {
      const ip = request.ip()
      if (!ip) return false
      for (const range of set.ips!) if (ipInRange(ip, range)) return true
      return false
    }
    case 'countries':
      return facts.country !== undefined && set.countries!.has(facts.country.toUpperCase())
    case 'methods':
      return set.methods!.has(request.method)
    case 'serviceTokens': {
      if (principal.kind !== 'service') return false
      const tokens = set.serviceTokens!
      return tokens.any || tokens.names.has(principal.name)
    }
    case 'organizations':
      return person?.organizationId !== undefined && set.organizations!.has(person.organizationId)
    case 'roles':
      return anyIn(person?.roles, set.roles!)
    case 'groups':
      return anyIn(person?.groups, set.groups!)
    case 'authMethods':
      return person !== undefined && set.authMethods!.has(person.authMethod)
    case 'mfa':
      return person !== undefined && (person.mfa === true || assumeMfa)
  }
}

function anyIn(values: readonly string[] | undefined, wanted: ReadonlySet<string>): boolean {
  if (!values) return false
  for (const value of values) if (wanted.has(value)) return true
  return false
}

function explainSet(set: ConditionSet, request: RequestView): RuleVerdict {
  const { principal } = request
  if (!kindMatches(set, principal)) {
    const detail =
      principal.kind === 'service'
        ? 'no match (a service token only matches sets naming serviceTokens)'
        : 'no match (serviceTokens: not a service token)'
    return { rule: set.label, matched: false, detail }
  }
  const failed = set.keys.filter((key) => !keyMatches(set, key, request, false))
  if (failed.length === 0) return { rule: set.label, matched: true, detail: 'match' }
  const mfaOnly = failed.length === 1 && failed[0] === 'mfa'
  return {
    rule: set.label,
    matched: false,
    detail: `no match (${failed.join(', ')})${mfaOnly ? `; ${WOULD_MATCH_AFTER_MFA}` : ''}`,
  }
}
