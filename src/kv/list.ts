/**
 * The key names under `prefix`, without it, one listing page at a time (KV lists up to 1,000 a
 * page), so a caller can read and prune a page's entries before the next is asked for.
 */
export async function* listNames(kv: KVNamespace, prefix: string): AsyncGenerator<string[]> {
  let cursor: string | undefined
  do {
    const page = await kv.list({ prefix, ...(cursor && { cursor }) })
    yield page.keys.map((key) => key.name.slice(prefix.length))
    cursor = page.list_complete ? undefined : page.cursor
  } while (cursor)
}
