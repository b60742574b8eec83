// The sign-in methods, one entry each: the one place a method is named. Everything else derives
// its types and mappings from here: the session record's stored `method`, ACCESS's
// `authMethods` and SIGN_IN_METHODS (both the method's id), the sealed state's `flow`, the
// assertion's `amr`, the login page's button, and the routes the method's module handles
// (src/sign-in/<id>.ts). Plain data, with no Hono and no Workers types: src/access and the
// operator's check tool (Node) read its types.
//
// A new method is an entry here and a module of its own; the compiler then asks for the module in
// src/sign-in/modules.ts, with a handler for each route named here, and for its callback checks
// if it comes back through /auth/callback.

/** `METHOD /path`, as Hono matches it. */
type Route = `${'GET' | 'POST'} /auth/${string}`

export interface MethodEntry {
  /** The value a session record stores (STORAGE.md): sessions in KV keep it, so never rename. */
  readonly stored: string
  /** RFC 8176's authentication method reference, in the assertion's `amr`. */
  readonly amr: string
  /** The login page's button for it; the button posts the form to the `form` route. */
  readonly button: string
  /** How a refusal names it: `… is not offered here.` */
  readonly title: string
  /** What the email it sends carries, for the login page's intro; absent: it sends none. */
  readonly emails?: string
  /** A sentence the login page's intro adds when it is offered. */
  readonly intro?: string
  /**
   * It leaves for WorkOS and comes back on /auth/callback with a sealed state whose `flow` is its
   * id (src/sign-in/callback.ts).
   */
  readonly callback: boolean
  /** Its routes by the names its module's handlers go by; `form` is the login button's action. */
  readonly routes: { readonly form: `POST /auth/${string}` } & Readonly<Record<string, Route>>
}

export const SIGN_IN_METHODS = {
  /** Magic Auth: a 6-digit code, emailed, typed into the gateway's code page. */
  code: {
    stored: 'magic_auth',
    // A one-time password.
    amr: 'otp',
    button: 'Email me a sign-in code',
    title: 'Sign-in with a code',
    emails: 'a code',
    callback: false,
    routes: {
      form: 'POST /auth/magic-auth',
      codePage: 'GET /auth/code',
      verify: 'POST /auth/magic-auth/verify',
    },
  },
  /** Magic Link: a link, emailed, that ends on /auth/callback. */
  link: {
    stored: 'magic_link',
    // Proof of the mailbox.
    amr: 'email',
    button: 'Email me a sign-in link',
    title: 'Sign-in with a link',
    emails: 'a link',
    callback: true,
    routes: {
      form: 'POST /auth/magic-link',
      sentPage: 'GET /auth/check-email',
      continuePage: 'GET /auth/magic/:token',
      continue: 'POST /auth/magic/:token',
    },
  },
  /** Enterprise SSO: the organization's identity provider, through WorkOS, to /auth/callback. */
  sso: {
    stored: 'sso',
    amr: 'sso',
    button: 'Use single sign-on',
    title: 'Single sign-on',
    intro: 'If your organization uses single sign-on, you go to its sign-in page instead.',
    callback: true,
    routes: {
      form: 'POST /auth/sso',
      start: 'GET /auth/sso',
    },
  },
} as const satisfies Record<string, MethodEntry>

type Methods = typeof SIGN_IN_METHODS

/** A method's id: SIGN_IN_METHODS's values, ACCESS's `authMethods`, `/auth/me`'s `authMethod`. */
export type SignInMethod = keyof Methods

/** What a session record stores for a method. */
export type StoredSignInMethod = Methods[SignInMethod]['stored']

/** The methods that come back through /auth/callback: the sealed state's `flow`. */
export type CallbackFlow = {
  [M in SignInMethod]: Methods[M]['callback'] extends true ? M : never
}[SignInMethod]

/** The names of a method's routes, for its module's handlers. */
export type RouteName<M extends SignInMethod> = keyof Methods[M]['routes']

/** Every method, in the registry's order (the login page's intro lists what they email in it). */
export const METHOD_IDS = Object.keys(SIGN_IN_METHODS) as SignInMethod[]

export const isSignInMethod = (value: string): value is SignInMethod =>
  Object.hasOwn(SIGN_IN_METHODS, value)

export const isCallbackFlow = (value: unknown): value is CallbackFlow =>
  typeof value === 'string' && isSignInMethod(value) && SIGN_IN_METHODS[value].callback

/** A method's entry, with the fields only some methods have (`emails`, `intro`). */
export const entryOf = (method: SignInMethod): MethodEntry => SIGN_IN_METHODS[method]

/** Every stored name, for the session record's schema. */
export const STORED_METHODS = METHOD_IDS.map((id) => SIGN_IN_METHODS[id].stored) as [
  StoredSignInMethod,
  ...StoredSignInMethod[],
]

const METHOD_OF_STORED = Object.fromEntries(
  METHOD_IDS.map((id) => [SIGN_IN_METHODS[id].stored, id]),
) as Record<StoredSignInMethod, SignInMethod>

/** The method a session record's stored name stands for. */
export const methodOfStored = (stored: StoredSignInMethod): SignInMethod => METHOD_OF_STORED[stored]

/** The path the login page's button for this method posts to. */
export const formAction = (method: SignInMethod): string =>
  routePath(SIGN_IN_METHODS[method].routes.form)

/** Each route's method and path: `POST /auth/sso` → `['POST', '/auth/sso']`. */
export function routeParts(route: Route): ['GET' | 'POST', string] {
  const space = route.indexOf(' ')
  return [route.slice(0, space) as 'GET' | 'POST', route.slice(space + 1)]
}

const routePath = (route: Route) => routeParts(route)[1]

/**
 * The login buttons' actions that have no GET route of their own: a GET there (a bookmark, a
 * reload of the form's answer) is sent back to the form.
 */
export const FORM_ACTIONS_WITHOUT_GET = METHOD_IDS.map(formAction).filter(
  (path) =>
    !METHOD_IDS.some((id) =>
      Object.values<Route>(SIGN_IN_METHODS[id].routes).includes(`GET ${path}` as Route),
    ),
)
