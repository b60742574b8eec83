// What the revocation authority records: every way a grant ends, in the terms the gateway reads
// a grant by. A session is named by its KV handle (the SHA-256 of its id, never the id), a person
// by their person key (the SHA-256 of the email), a service token by its id.

export type End =
  /** One session: sign-out, "end this session", a webhook ending one. */
  | { readonly kind: 'session'; readonly key: string }
  /** Every session of a person created at or before `before` (sign out everywhere, admin). */
  | { readonly kind: 'person'; readonly key: string; readonly before: number }
  /** Every session signed in through an SSO connection created at or before `before`. */
  | { readonly kind: 'connection'; readonly key: string; readonly before: number }
  /** A service token, revoked. */
  | { readonly kind: 'token'; readonly key: string }

/** An end as the authority hands it out: numbered in the order recorded, with when. */
export type RecordedEnd = End & { readonly seq: number; readonly at: number }

/** What one refresh of an isolate's view gets. */
export interface Changes {
  /** The authority's storage the sequence numbers count in (a new one after a reset). */
  readonly storage: string
  /** The newest sequence number recorded. */
  readonly seq: number
  /**
   * True when the ends given are everything the authority keeps, not only those after the
   * sequence asked for: the view starts again from them (the view read another storage, or is
   * ahead of this one: it was reset).
   */
  readonly whole: boolean
  readonly ends: readonly RecordedEnd[]
}

/** The tags a pushed end is sent under, and a subscribed socket listens on. */
export const tagOf = (end: Pick<End, 'kind' | 'key'>) => `${end.kind}:${end.key}`
