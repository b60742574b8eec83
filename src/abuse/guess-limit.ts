import * as z from 'zod/mini'
import { GatewayError } from '../errors'
import { kvOrFailClosed } from '../kv/fail-closed'
import { guessesKey } from '../kv/keys'
import { parseStored } from '../kv/stored-json'
import { keptUntil } from '../kv/ttl'
import { log } from '../log'

// Wrong code guesses, counted per address across every client (rotating addresses, IPv6 or
// botnets, cannot reset it): at most 20 an hour, and at most 5 per code sent. Rate Limiting
// bindings only count per 10 or 60 s, so this is a KV counter keyed on the address's hash. Wrong
// guesses are rare for real people, so the extra KV write per wrong guess is cheap.
//
// The count is the same whether or not the address has an account or a live code (a guess at an
// address with no account counts like any other), so its answers reveal nothing about accounts.
// KV has no atomic increment: guesses sent at the same instant can read the same count, so a burst
// may overshoot by its own size; the per-client limit and WorkOS's own cap per code bound that.

export const GUESSES_PER_HOUR = 20
export const GUESSES_PER_CODE = 5
const WINDOW_MS = 60 * 60 * 1000

const guessRecord = z.object({
  since: z.number(),
  count: z.number(),
  /** Wrong guesses per pending code id (one per send). */
  codes: z.record(z.string(), z.number()),
})
type GuessRecord = z.infer<typeof guessRecord>

async function read(kv: KVNamespace, key: string, now: number): Promise<GuessRecord | null> {
  // A KV failure refuses the guess (503): no unlimited guessing while the counter is down.
  const record = parseStored(guessRecord, await kvOrFailClosed(() => kv.get(key, 'text')))
  // Unreadable or from a past window: start again.
  return record && record.since + WINDOW_MS > now ? record : null
}

/**
 * Before a code is checked: 429 when the address has used its hourly guesses, and
 * `too_many_attempts` when this code (pending id) has had five wrong guesses.
 */
export async function enforceGuessLimit(
  kv: KVNamespace,
  email: string,
  pendingId: string,
  now = Date.now(),
): Promise<void> {
  const record = await read(kv, await guessesKey(email), now)
  if (!record) return
  refusePastHourlyLimit(record, now)
  if ((record.codes[pendingId] ?? 0) >= GUESSES_PER_CODE) {
    log({ event: 'magic_auth_refused', outcome: 'too_many_attempts' })
    throw new GatewayError(
      400,
      'too_many_attempts',
      'Too many wrong codes. Send yourself a new one.',
    )
  }
}

/**
 * The same hourly limit for guesses at a code that no one sent to the guesser (a device's user
 * code, src/oauth/device-verification.ts): 429 once `subject` has had 20 wrong guesses this hour.
 */
export async function enforceHourlyGuessLimit(
  kv: KVNamespace,
  subject: string,
  now = Date.now(),
): Promise<void> {
  const record = await read(kv, await guessesKey(subject), now)
  if (record) refusePastHourlyLimit(record, now)
}

function refusePastHourlyLimit(record: GuessRecord, now: number): void {
  if (record.count < GUESSES_PER_HOUR) return
  const seconds = Math.max(1, Math.ceil((record.since + WINDOW_MS - now) / 1000))
  log({ event: 'rate_limited', limiter: 'GUESSES_PER_ADDRESS' })
  throw new GatewayError(
    429,
    'too_many_guesses',
    `Too many wrong codes were tried for this address. Try again in ${Math.ceil(seconds / 60)} minutes.`,
    { 'Retry-After': String(seconds) },
  )
}

/** After a wrong guess: one more against the address and against this code. */
export async function countWrongGuess(
  kv: KVNamespace,
  email: string,
  pendingId: string,
  now = Date.now(),
): Promise<void> {
  const key = await guessesKey(email)
  const record = (await read(kv, key, now)) ?? { since: now, count: 0, codes: {} }
  record.count += 1
  record.codes[pendingId] = (record.codes[pendingId] ?? 0) + 1
  await kvOrFailClosed(() =>
    kv.put(key, JSON.stringify(record), keptUntil(record.since + WINDOW_MS)),
  )
}
