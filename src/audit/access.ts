import type { AppContext } from '../app-env'
import type { CompiledRoute, Outcome } from '../access/index.ts'
import type { ForwardIdentity } from '../assertion/sign'
import { BoundedMap } from '../bounded-cache'
import { auditSeenKey } from '../kv/keys'
import { callerActor } from './actors'
import type { AuditTarget } from './event'
import { audit } from './record'

// What the gate's decisions put in the audit trail: every refusal of someone it knows (403), and
// a session's first access to a route, not each request. An allowed request this isolate has
// already seen for that session and route costs one WeakSet lookup, and nothing else; no request
// reads or writes KV for it.

/** Per route: the identities (one frozen object per session record) already seen allowed. */
const seenIdentities = new WeakMap<CompiledRoute, WeakSet<object>>()
/** Route and session handle: a record read again (a new identity object) is not new. */
const seenHandles = new BoundedMap<string, true>(10_000)

const routeTarget = (route: CompiledRoute): AuditTarget => ({
  type: 'route',
  id: route.name,
  name: `${route.hostText}${route.pathText}`,
})

/** Notes a decision about a known caller (a person, a grant, a service token). */
export function auditDecision(
  c: AppContext,
  route: CompiledRoute,
  caller: { identity: ForwardIdentity; endsAt: number | undefined },
  decided: {
    outcome: Outcome
    rule: string | undefined
    /** The method asked about (at forward-auth, the forwarded one) and any `_method` decided. */
    method: string
    overrides: readonly string[]
    mode: 'proxy' | 'forward-auth'
  },
): void {
  const { identity } = caller
  const { outcome, rule, method, overrides, mode } = decided
  if (outcome === 'deny') {
    audit(c, {
      action: 'gateway.access.denied',
      actor: callerActor(identity),
      targets: [routeTarget(route)],
      metadata: {
        route: route.name,
        // No rule named: none of the route's allow sets matched.
        rule: rule ?? 'allow: none matched',
        method,
        method_override: overrides[0],
        via: mode,
        // A page of another site, or of a sibling host, can make a browser send a refused request.
        fetch_site: c.req.header('sec-fetch-site')?.slice(0, 20),
        ...(identity.kind === 'person' && { session: identity.sid, client_id: identity.clientId }),
      },
      organizationId: identity.kind === 'person' ? identity.organizationId : undefined,
    })
  } else if (outcome === 'allow' && identity.kind === 'person') {
    firstAccess(c, route, identity, caller.endsAt ?? Date.now() + DAY_MS, method, mode)
  }
}

function firstAccess(
  c: AppContext,
  route: CompiledRoute,
  identity: Extract<ForwardIdentity, { kind: 'person' }>,
  endsAt: number,
  method: string,
  mode: 'proxy' | 'forward-auth',
): void {
  let seen = seenIdentities.get(route)
  if (seen?.has(identity)) return
  if (!seen) seenIdentities.set(route, (seen = new WeakSet()))
  seen.add(identity)
  const key = auditSeenKey(route.name, identity.sid)
  if (seenHandles.has(key)) return
  seenHandles.set(key, true)
  // Another isolate may have seen it first. The request reads nothing more: the queue's consumer
  // checks KV for the pair before posting (src/audit/deliver.ts), and the event's idempotency
  // key (route and session) makes two that both post one event at WorkOS.
  audit(c, {
    action: 'gateway.access.first_allowed',
    actor: callerActor(identity),
    targets: [routeTarget(route)],
    metadata: {
      route: route.name,
      method,
      via: mode,
      session: identity.sid,
      client_id: identity.clientId,
    },
    organizationId: identity.organizationId,
    once: { key, until: endsAt },
  })
}

const DAY_MS = 24 * 3600 * 1000
