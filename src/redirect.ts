// returnTo validation: the only redirect targets the gateway accepts are paths on its own origin.
// Anything doubtful falls back to "/" rather than being repaired.

const FALLBACK = '/'
// The gateway's own pages a person may be sent back to after signing in (an OAuth client's
// authorization request waits for the person to sign in, src/oauth/authorize.ts).
const RETURNABLE_GATEWAY_PAGES = new Set([
  '/auth/sessions',
  // The app launcher (src/launcher/).
  '/auth/apps',
  '/auth/mfa',
  '/auth/handoff/start',
  '/auth/oauth/authorize',
  // …and the device page, with the code the person was typing (src/oauth/device-verification.ts).
  '/auth/device',
])
const MAX_LENGTH = 2048
const PLACEHOLDER_ORIGIN = 'https://gateway.invalid'

// Control characters (C0, DEL, C1) and the backslash, which browsers read as "/" in URLs.
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\\]/

// Characters that look like "/" or "\\" and that some decoders or IDNA mappings fold into them
// (∕ ⁄ ／ ⧸ ＼ ∖ ﹨). No genuine path needs them raw.
const SLASH_LOOKALIKES = /[\u2215\u2044\uff0f\u29f8\uff3c\u2216\ufe68]/

function decodesToUnsafe(value: string): boolean {
  // Undo up to three rounds of percent-encoding, looking for "//", "/\" or control characters
  // that a later decoder (the origin, a framework's redirect helper) might act on.
  let current = value
  for (let round = 0; round < 3; round++) {
    let decoded: string
    try {
      decoded = decodeURIComponent(current)
    } catch {
      return true
    }
    if (decoded === current) return false
    if (UNSAFE_CHARACTERS.test(decoded) || /^[/\\]{2}/.test(decoded)) return true
    current = decoded
  }
  return true
}

/** A same-origin path with its query, or "/" for anything else. */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH) return FALLBACK
  if (!value.startsWith('/') || value.startsWith('//')) return FALLBACK
  if (UNSAFE_CHARACTERS.test(value) || decodesToUnsafe(value)) return FALLBACK
  const folded = value.normalize('NFKC')
  if (SLASH_LOOKALIKES.test(value) || folded.startsWith('//') || folded.includes('\\'))
    return FALLBACK
  let url: URL
  try {
    url = new URL(value, PLACEHOLDER_ORIGIN)
  } catch {
    return FALLBACK
  }
  if (url.origin !== PLACEHOLDER_ORIGIN) return FALLBACK
  // Dot segments are resolved by the parse: "/.//evil.example" becomes "//evil.example", which a
  // browser reads as another host. Check the result, not only the input.
  if (/^[/\\]{2}/.test(url.pathname) || decodesToUnsafe(url.pathname)) return FALLBACK
  // The gateway's own sign-in routes are never a destination (no loops back into /auth/login).
  if (
    (url.pathname === '/auth' || url.pathname.startsWith('/auth/')) &&
    !RETURNABLE_GATEWAY_PAGES.has(url.pathname)
  )
    return FALLBACK
  return url.pathname + url.search
}
