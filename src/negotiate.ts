import type { AppContext } from './app-env'

/** Quality of `type` in an Accept header, or -1 when it is not named (wildcards do not count). */
function acceptQuality(accept: string, type: string): number {
  for (const part of accept.split(',')) {
    const [name, ...params] = part.split(';').map((piece) => piece.trim().toLowerCase())
    if (name !== type) continue
    const q = params.find((param) => param.startsWith('q='))
    const quality = q ? Number(q.slice(2)) : 1
    return Number.isFinite(quality) ? quality : 0
  }
  return -1
}

/**
 * README "Routes": JSON when the body is JSON or Accept prefers JSON; HTML when Accept includes
 * text/html; otherwise JSON (so API clients never get a page).
 */
export function wantsHtml(c: AppContext): boolean {
  const contentType = c.req.header('content-type') ?? ''
  if (/^application\/json\b/i.test(contentType)) return false
  const accept = c.req.header('accept') ?? ''
  const html = acceptQuality(accept, 'text/html')
  const json = acceptQuality(accept, 'application/json')
  if (json > html) return false
  return html > 0
}

/** True for a browser form post (the pages post urlencoded forms). */
export function isFormPost(c: AppContext): boolean {
  const contentType = c.req.header('content-type') ?? ''
  return /^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(contentType)
}
