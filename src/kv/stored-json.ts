import type * as z from 'zod/mini'

/**
 * A stored JSON value of `schema`'s shape, or null when there is none or it does not parse (a
 * corrupt value, or one of an older format): every store treats those alike, as absent.
 */
export function parseStored<T>(schema: z.ZodMiniType<T>, raw: string | null): T | null {
  if (raw === null) return null
  try {
    const parsed = schema.safeParse(JSON.parse(raw))
    return parsed.success ? parsed.data : null
  } catch {
    return null
  }
}
