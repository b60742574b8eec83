import type { AppContext } from '../app-env'
import type * as z from 'zod/mini'
import { GatewayError } from '../errors'

// The dev pages read what the local emulator holds from its /__ switches (the mailbox, the audit
// log). Dev only: without DEV_MODE=true and an emulator URL they answer 404, as if they did not
// exist; with the emulator down, 404 too, saying so.

export async function readEmulator<T>(
  c: AppContext,
  path: string,
  schema: z.ZodMiniType<T>,
  name: string,
): Promise<T> {
  const config = c.get('config')
  const api = config.workosApi
  if (!config.devMode || !api) throw new GatewayError(404, 'not_found', 'Not found.')
  const base = `${api.https ? 'https' : 'http'}://${api.hostname}${api.port ? `:${api.port}` : ''}`
  const response = await fetch(`${base}${path}`).catch(() => undefined)
  const parsed = schema.safeParse(response?.ok ? await response.json().catch(() => null) : null)
  if (!parsed.success)
    throw new GatewayError(
      404,
      `${name.replace(' ', '_')}_unavailable`,
      `The dev ${name} is off: the emulator is not running.`,
    )
  return parsed.data
}
