import type { AppContext } from '../app-env'
import { log } from '../log'
import { formParameters, tokenError } from './token'
import { revokeToken } from './tokens'

// RFC 7009: a client that is done with a token says so. An access or a refresh token ends its
// whole grant (the contract is stricter than RFC 7009 §2.1, which lets an access token end
// alone). The answer is 200 whatever the token was (unknown, already ended, someone else's),
// so it tells nothing about tokens.

/** POST /auth/oauth/revoke: form with `token`, optionally `token_type_hint` and `client_id`. */
export async function revoke(c: AppContext): Promise<Response> {
  const fields = await formParameters(c)
  if (!(fields instanceof Map)) return tokenError(c, 'invalid_request', fields.error)
  const token = fields.get('token')
  if (token === undefined) return tokenError(c, 'invalid_request', 'token is required.')
  // The hint only says where to look first (§2.1); every token here is found the same way.
  await revokeToken(c, token, fields.get('client_id'))
  log({ event: 'oauth_revoke_answered' })
  return c.body(null, 200, { 'Cache-Control': 'no-store', Pragma: 'no-cache' })
}
