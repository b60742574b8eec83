import type { AppContext } from '../app-env'
import type { Profile } from '@workos-inc/node'
import type { SignedInIdentity } from '../session/start'
import type { SignInFailure } from './login-form'
import type { CallbackFlow, RouteName, SignInMethod } from './methods'
import type { SignInState } from './state'

// What a sign-in method's module gives the gateway (src/sign-in/modules.ts binds each to its
// entry in the registry, src/sign-in/methods.ts).

export type RouteHandler = (c: AppContext) => Response | Promise<Response>

export type MethodModule<M extends SignInMethod> = {
  /** A handler for each route the method's registry entry names. */
  readonly routes: { readonly [R in RouteName<M>]: RouteHandler }
} & (M extends CallbackFlow ? { readonly callback: CallbackChecks } : unknown)

export type WorkosProfile = Profile<Record<string, unknown>>

/** A sign-in refused: the log's outcome, and the notice the login form shows. */
export interface Refusal {
  readonly outcome: string
  readonly notice: SignInFailure
}

/**
 * What a method that comes back through /auth/callback decides there (src/sign-in/callback.ts):
 * the callback itself checks the state, the browser, and exchanges the code.
 */
export interface CallbackChecks {
  /** The notice when this sign-in fails: WorkOS refused the code, or it proved someone else. */
  readonly failed: SignInFailure
  /** The notice for a code WorkOS calls used or expired; absent: `failed`. */
  readonly expired?: SignInFailure
  /** The log's outcome when WorkOS sends the person back with `error`. */
  readonly refusedOutcome: string
  /**
   * The callback outside the browser that started it: `confirm` asks the person there first (a
   * link may be opened on another device); a refusal signs nobody in and offers no page that would.
   */
  readonly otherBrowser: 'confirm' | Refusal
  /** Whether the profile is the person the sign-in was asked for (the state says who). */
  proves(profile: WorkosProfile, state: SignInState, email: string): boolean
  /**
   * What the session keeps from the profile besides the person (SSO: the organization, roles and
   * groups), or why the profile is refused. `email` is the profile's, lowercased.
   */
  accept(
    c: AppContext,
    profile: WorkosProfile,
    email: string,
  ): Promise<Pick<SignedInIdentity, 'sso'> | Refusal>
}
