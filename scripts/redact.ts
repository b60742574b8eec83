// wrangler dev prints an access line per request ("[wrangler:info] GET /auth/callback?code=…").
// Paths and queries can carry sign-in codes, links' tokens and states: print them without.
export function redact(line: string): string {
  return line.replace(/(\[wrangler:info\] [A-Z]+ )(\S+)/, (_, head: string, path: string) => {
    const [pathname] = path.split('?')
    const bare = pathname!.replace(/^\/auth\/magic\/[^/]+/, '/auth/magic/…')
    return `${head}${bare}${path.includes('?') ? '?…' : ''}`
  })
}
