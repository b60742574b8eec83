import type { Hono } from 'hono'
import type { AppEnv } from '../app-env'
import { magicAuth } from './code'
import { magicLink } from './link'
import type { MethodModule, RouteHandler } from './method-module'
import { METHOD_IDS, SIGN_IN_METHODS, routeParts, type SignInMethod } from './methods'
import { sso } from './sso'

/**
 * Each method's module, bound to its entry in the registry (src/sign-in/methods.ts): the compiler
 * asks for one per method there, with a handler for every route the entry names.
 */
export const SIGN_IN_MODULES: { readonly [M in SignInMethod]: MethodModule<M> } = {
  code: magicAuth,
  link: magicLink,
  sso,
}

/** Registers every method's routes, at the paths its registry entry names, to its handlers. */
export function mountSignInMethods(app: Hono<AppEnv>): void {
  for (const id of METHOD_IDS) {
    const handlers: Readonly<Record<string, RouteHandler>> = SIGN_IN_MODULES[id].routes
    for (const [name, route] of Object.entries(SIGN_IN_METHODS[id].routes)) {
      const [method, path] = routeParts(route)
      app.on(method, path, handlers[name]!)
    }
  }
}
