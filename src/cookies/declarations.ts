import type { Config } from '../config'

// Every cookie the gateway sets is declared here and only here: its name, what it is for, how
// long it lives, its SameSite and how its value is protected. src/cookies/gateway-cookie.ts sets,
// reads and clears them from these declarations alone, and the origin filter
// (src/cookies/origin-filter.ts) derives the names it strips from them, so a new cookie cannot be
// forgotten by the filter (a test fails on a `__Host-` name written anywhere else in src/).
//
// A name, a label or a part's order changed here voids that cookie in every browser that holds
// one: change them only on purpose.

/** What every gateway cookie has in common. */
interface CookieDeclaration {
  /**
   * `__Host-` pins the cookie to this exact host, Path=/ and Secure: no subdomain can set or toss
   * it.
   */
  readonly name: string
  /** What it is for (documentation). */
  readonly purpose: string
  /** Max-Age, fixed or from the config. */
  readonly maxAgeSeconds: number | ((config: Config) => number)
  readonly sameSite: 'Lax' | 'None'
  /**
   * The purpose label of the HMAC or of the AES key (src/crypto.ts): a value made for one cookie
   * is worth nothing as another's.
   */
  readonly label: string
}

/**
 * A value the browser may see but not forge: `<part>.<part>….<HMAC-SHA256>`, each part and the
 * signature 43 characters of base64url (32 random bytes or a SHA-256).
 */
export interface SignedCookie<Part extends string = string> extends CookieDeclaration {
  readonly protection: 'signed'
  /** The fields the signature covers, in their order on the wire. */
  readonly parts: readonly Part[]
  /** Verified values are remembered in the isolate: for a cookie checked on every request. */
  readonly rememberVerified?: boolean
}

/** A value the browser may neither read nor alter: AES-256-GCM, base64url. */
export interface SealedCookie extends CookieDeclaration {
  readonly protection: 'sealed'
}

export type GatewayCookie = SignedCookie | SealedCookie

export const GATEWAY_COOKIES = Object.freeze({
  session: {
    name: '__Host-session',
    // The person key (the hash the person's sessions are indexed under) lets one KV round trip
    // read the session together with the person's revocation time.
    purpose: 'The session: its id and its person key (src/session/current.ts).',
    maxAgeSeconds: (config: Config) => config.sessionTtlSeconds,
    sameSite: 'Lax',
    protection: 'signed',
    label: 'session-cookie',
    parts: ['sessionId', 'personKey'],
    // A browser sends the same cookie with every request, and the HMAC check (a Web Crypto call
    // and its promise) is most of what a repeat request would otherwise spend on it.
    rememberVerified: true,
  },
  signin: {
    name: '__Host-signin',
    purpose: 'The browser that asked for a sign-in link or SSO (src/sign-in/browser-binding.ts).',
    // As long as a sign-in state is accepted (src/sign-in/state.ts).
    maxAgeSeconds: 30 * 60,
    sameSite: 'Lax',
    protection: 'signed',
    label: 'signin-nonce',
    parts: ['nonce'],
  },
  pendingCode: {
    name: '__Host-magic-auth',
    purpose: 'The address a Magic Auth code was asked for (src/sign-in/pending-code.ts).',
    // A Magic Auth code lives 10 minutes.
    maxAgeSeconds: 10 * 60,
    sameSite: 'Lax',
    protection: 'sealed',
    label: 'magic-auth-pending',
  },
  handoff: {
    name: '__Host-handoff',
    purpose:
      "The app host's browser nonce for a handoff from SIGN_IN_HOST (src/handoff/request.ts).",
    // Long enough to sign in with a code or a link; the code itself lives 60 s.
    maxAgeSeconds: 30 * 60,
    // SameSite=None: it must come back with the sign-in host's form post, which is cross-site
    // where the hosts do not share a registrable domain (auth.localhost and app.localhost in dev).
    // It binds a code to this browser; it grants nothing by itself.
    sameSite: 'None',
    protection: 'signed',
    label: 'handoff-nonce',
    parts: ['nonce'],
  },
} as const satisfies Record<string, GatewayCookie>)
