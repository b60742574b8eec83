// The app launcher's list: each route the person may open now, decided as the gate decides a GET
// of its entry URL (matchRoute, then decide, on the facts the gate would have), so the launcher
// cannot offer what the gate would refuse, nor leave out what it would allow. Pure: no Hono, no I/O.
import {
  checkPath,
  decide,
  entryPathOf,
  matchRoute,
  normaliseHost,
  requestFacts,
  type CompiledAccess,
  type CompiledRoute,
  type LauncherEntry,
  type Principal,
} from '../access/index.ts'

/** One application the launcher offers. */
export interface App {
  readonly route: CompiledRoute
  readonly title: string
  /** Absolute: the launcher may list apps on other hosts than its own. */
  readonly url: string
}

/** Where the launcher is asked from, and so where a route without a host of its own is served. */
export interface Here {
  /** `https:` */
  readonly protocol: string
  /** The request's host name, lowercased, without a port. */
  readonly host: string
  /** `:3000`, or '' for the scheme's default. */
  readonly port: string
  readonly signInHost: string | undefined
  /** With SIGN_IN_HOST: every host a session is handed to (which includes the sign-in host). */
  readonly appHosts: ReadonlySet<string>
}

/** The client as the gate sees it: what `ips`, `countries` and `maxSignInAge` look at. */
export interface Client {
  readonly ip: string
  readonly country: string | undefined
  readonly now: number
}

/**
 * The applications `person` may open now, in policy order. A route is listed when it asks to be
 * (CompiledRoute.launcher), its entry URL is a request that route itself decides (not an earlier
 * route that takes the same address, nor none for a route without GET), and a GET of it is allowed.
 */
export function appsFor(
  policy: CompiledAccess,
  person: Exclude<Principal, null>,
  here: Here,
  client: Client,
  productName: string,
): App[] {
  const apps: App[] = []
  for (const route of policy.routes) {
    const entry = route.launcher
    if (!entry) continue
    for (const { host, path, url } of entryUrls(route, entry, here)) {
      // The sign-in host serves no application, whatever a route without a host would say.
      if (normaliseHost(host) === here.signInHost) continue
      // What the gate itself refuses before routing (`400 bad_path`); a compiled entry never is.
      if (policy.source === 'ACCESS' && !checkPath(path).ok) continue
      const facts = requestFacts(
        { host, path, method: 'GET' },
        client.ip,
        client.country,
        client.now,
      )
      if (matchRoute(policy, facts) !== route) continue
      if (decide(route, facts, person).outcome !== 'allow') continue
      apps.push({ route, title: entry.title ?? productName, url })
    }
  }
  return apps
}

interface EntryUrl {
  /** As the gate would see it in the request URL (matchRoute normalises it). */
  readonly host: string
  readonly path: string
  readonly url: string
}

/**
 * Where a route is opened: its `launcher.url`, else its exact host (or, for a route on any host,
 * the launcher's own host; with SIGN_IN_HOST each app host) and its path's literal part. A route
 * on `*.example.com` has no one host to open, unless its `launcher.url` names one.
 */
function entryUrls(route: CompiledRoute, entry: LauncherEntry, here: Here): EntryUrl[] {
  if (entry.url !== undefined && !entry.url.startsWith('/')) {
    const url = new URL(entry.url)
    return [{ host: url.host, path: url.pathname, url: url.href }]
  }
  const path = entry.url ?? entryPathOf(route.pathText)
  const hosts =
    route.host.kind === 'exact'
      ? [route.host.host]
      : route.host.kind === 'subdomains'
        ? []
        : here.signInHost === undefined
          ? [here.host]
          : [...here.appHosts]
  return hosts.map((host) => ({ host, path, url: `${here.protocol}//${host}${here.port}${path}` }))
}
