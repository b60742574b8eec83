import type { End } from './ends'
import type { SessionFacts } from './view'

/**
 * What the session and service-token stores ask of the revocation authority: record an end
 * before it is acknowledged, and whether this isolate's view of it ends a grant (no I/O).
 */
export interface Revocations {
  record(end: End): Promise<void>
  endsSession(handle: string, personKey: string, session: SessionFacts): boolean
  endsToken(id: string): boolean
}

/** For a store used on its own (its contract tests, scripts): KV's markers alone. */
export const KV_ONLY: Revocations = Object.freeze({
  record: async () => {},
  endsSession: () => false,
  endsToken: () => false,
})
