import { env } from 'cloudflare:workers'
import { KvSessionStore } from '../src/session/store'
import { sessionStoreContract } from './session-store.contract'

sessionStoreContract('KvSessionStore (real KV)', () => new KvSessionStore(env.SESSIONS))
// The gateway runs it with an in-isolate cache (SESSION_CACHE_SECONDS): ends must still be final.
sessionStoreContract(
  'KvSessionStore (real KV, in-isolate cache)',
  () => new KvSessionStore(env.SESSIONS, 60),
)
