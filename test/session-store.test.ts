import { env } from 'cloudflare:workers'
import { KvSessionStore } from '../src/session/store'
import { sessionStoreContract } from './session-store.contract'

sessionStoreContract('KvSessionStore (real KV)', () => new KvSessionStore(env.SESSIONS))
