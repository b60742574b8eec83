import { env } from 'cloudflare:workers'
import { KvServiceTokenStore } from '../src/service-tokens/store'
import { serviceTokenStoreContract } from './service-token-store.contract'

serviceTokenStoreContract(
  'KvServiceTokenStore (real KV)',
  () => new KvServiceTokenStore(env.SESSIONS),
)
// The gateway runs it with an in-isolate cache (SESSION_CACHE_SECONDS): revocations must stay final.
serviceTokenStoreContract(
  'KvServiceTokenStore (real KV, in-isolate cache)',
  () => new KvServiceTokenStore(env.SESSIONS, 60),
)
