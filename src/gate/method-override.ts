import type { AppContext } from '../app-env'
import {
  dependsOnMethod,
  isOverrideName,
  overrideMethods,
  overrideValuesIn,
  queryOverrides,
  type CompiledAccess,
  type OverrideMethods,
} from '../access/index.ts'
import { GatewayError } from '../errors'
import type { AskedRequest } from './asked-request'

/**
 * The most of a form body read to find a `_method`, and only where a method could change the
 * route or the decision: a larger form there is refused, since what it asks for cannot be known.
 * Elsewhere (an upload route without method rules) bodies are never read, whatever their size.
 */
export const MAX_OVERRIDE_FORM_BYTES = 1024 * 1024

const NONE: readonly string[] = Object.freeze([])

type BodyKind = 'urlencoded' | 'multipart' | 'json'

/**
 * The methods besides its own that the origin may act on for the asked request: a `_method` in
 * the query (any request), or, with `readBody` (the request itself, through the proxy), in a
 * POST's urlencoded, multipart or JSON body, or one without a content type (Rack reads that as a
 * form). Looked for only where the method matters for this host and path. The body is read from
 * a copy, so the origin gets it as sent.
 */
export async function methodOverrides(
  c: AppContext,
  access: CompiledAccess,
  asked: AskedRequest,
  readBody: boolean,
): Promise<readonly string[]> {
  const own = asked.method.toUpperCase()
  const body =
    readBody && own === 'POST' && c.req.raw.body
      ? bodyKind(c.req.header('content-type'))
      : undefined
  if (!body) return oneMethod(queryOverrides(access, asked, asked.query))
  if (!dependsOnMethod(access, asked)) return NONE

  const values: string[] = []
  overrideValuesIn(asked.query, values)
  await bodyValues(c, body, values)
  return oneMethod(overrideMethods(values, own))
}

function oneMethod(methods: OverrideMethods): readonly string[] {
  if (!methods.ok)
    throw new GatewayError(
      400,
      'bad_method_override',
      'The _method field must name one HTTP method, such as DELETE.',
    )
  return methods.methods
}

function bodyKind(header: string | undefined): BodyKind | undefined {
  const type = (header ?? '').trim().toLowerCase()
  // The media type ends at ";", "," or a space (Rack and PHP both stop at any of them).
  const media = type.split(/[;,\s]/, 1)[0]!
  if (media === '' || media === 'application/x-www-form-urlencoded') return 'urlencoded'
  // Rack parses multipart/mixed and multipart/related as well as form-data.
  if (media.startsWith('multipart/')) return 'multipart'
  // Laravel reads any type containing "/json" or "+json" as JSON, `_method` included.
  if (type.includes('json')) return 'json'
  return undefined
}

async function bodyValues(c: AppContext, kind: BodyKind, values: string[]): Promise<void> {
  // Express's body-parser, ASP.NET Core's request decompression and Apache's mod_deflate inflate a
  // compressed form before the framework reads its `_method`; the gateway does not read it.
  const encoding = c.req.header('content-encoding')?.trim().toLowerCase()
  if (encoding && encoding !== 'identity')
    throw new GatewayError(
      415,
      'encoded_form_refused',
      'A compressed form cannot be sent to this address: send it without Content-Encoding.',
    )
  const declared = Number(c.req.header('content-length'))
  const bytes =
    declared > MAX_OVERRIDE_FORM_BYTES
      ? undefined
      : await readAtMost(c.req.raw.clone().body!, MAX_OVERRIDE_FORM_BYTES)
  if (!bytes)
    throw new GatewayError(
      413,
      'form_too_large',
      `A form sent to this address may be at most ${MAX_OVERRIDE_FORM_BYTES / 1024} KiB: the ` +
        'gateway reads it for a _method field, since the rules here depend on the method.',
    )
  const text = new TextDecoder().decode(bytes)
  if (kind === 'urlencoded') overrideValuesIn(text, values)
  else if (kind === 'json') jsonValues(text, values)
  else await multipartValues(bytes, text, c.req.header('content-type')!, values)
}

/** The stream's bytes, or undefined once it is longer than `limit` (the rest is not read). */
async function readAtMost(
  stream: ReadableStream<Uint8Array>,
  limit: number,
): Promise<Uint8Array | undefined> {
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let length = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    length += value.byteLength
    if (length > limit) {
      await reader.cancel()
      return undefined
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return bytes
}

function jsonValues(text: string, values: string[]): void {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return // the origin cannot read a field from it either
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return
  for (const [name, value] of Object.entries(body))
    // Anything but a string is no method: '' makes overrideMethods refuse it.
    if (isOverrideName(name)) values.push(typeof value === 'string' ? value : '')
}

// A part's Content-Disposition line, and the `name` (or RFC 2231 `name*`) parameters on it.
const DISPOSITION = /^content-disposition:[^\r\n]*/gim
const NAME_PARAMETER = /;\s*name(\*?)\s*=\s*("[^"\r\n]*"|[^;\r\n]*)/gi
const CHARSET_PREFIX = /^[\w!#$%&+^`{}~-]*'[^']*'/

/**
 * `_method` fields of a multipart body, as workerd's parser reads it. Multipart parsers disagree at
 * the edges (duplicate or unquoted `name` parameters, `name*`), so the part headers are also read
 * line by line: if they name a `_method` field more often than the parser found one, the body is
 * ambiguous and refused, as is a `_method` sent as a file.
 */
async function multipartValues(
  bytes: Uint8Array,
  text: string,
  contentType: string,
  values: string[],
): Promise<void> {
  let form: FormData
  try {
    form = await new Response(bytes, { headers: { 'content-type': contentType } }).formData()
  } catch {
    throw unreadableForm()
  }
  let parsed = 0
  for (const [name, value] of form) {
    if (!isOverrideName(name)) continue
    parsed++
    values.push(typeof value === 'string' ? value : '')
  }
  if (namedInHeaders(text) > parsed) throw unreadableForm()
}

const unreadableForm = () =>
  new GatewayError(
    400,
    'unreadable_form',
    'The form could not be read unambiguously, so its _method field cannot be checked.',
  )

function namedInHeaders(text: string): number {
  let count = 0
  for (const [line] of text.matchAll(DISPOSITION)) {
    for (const [, extended, raw] of line.matchAll(NAME_PARAMETER)) {
      let name = raw!.trim()
      if (name.startsWith('"')) name = name.slice(1, -1)
      if (extended) name = decodeExtended(name)
      if (isOverrideName(name)) {
        count++
        break
      }
    }
  }
  return count
}

function decodeExtended(value: string): string {
  const bare = value.replace(CHARSET_PREFIX, '')
  try {
    return decodeURIComponent(bare)
  } catch {
    return bare
  }
}
