// Email addresses as typed by a person: trimmed, domain case-folded, and refused when they could
// smuggle anything into a mail header or a log line.

const MAX_ADDRESS = 254 // RFC 5321 path limit less the angle brackets
const MAX_LOCAL = 64
// Dot-atom local part (RFC 5322 §3.2.3) without quoted strings or comments.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/
const DOMAIN_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

export type EmailCheck = { ok: true; email: string } | { ok: false; problem: string }

export function normaliseEmail(value: unknown): EmailCheck {
  if (typeof value !== 'string') return { ok: false, problem: 'Enter your email address.' }
  const trimmed = value.trim()
  if (trimmed.length === 0) return { ok: false, problem: 'Enter your email address.' }
  if (trimmed.length > MAX_ADDRESS) return { ok: false, problem: 'That email address is too long.' }
  const at = trimmed.lastIndexOf('@')
  if (at <= 0 || at === trimmed.length - 1)
    return { ok: false, problem: 'Enter a complete email address, like name@example.com.' }
  const local = trimmed.slice(0, at)
  const domain = trimmed.slice(at + 1).toLowerCase()
  if (local.length > MAX_LOCAL) return { ok: false, problem: 'The part before the @ is too long.' }
  if (!LOCAL_PART.test(local))
    return { ok: false, problem: 'That email address has characters we cannot accept.' }
  const labels = domain.split('.')
  if (labels.length < 2 || !labels.every((label) => DOMAIN_LABEL.test(label)))
    return { ok: false, problem: 'The part after the @ is not a valid domain.' }
  return { ok: true, email: `${local}@${domain}` }
}
