/**
 * How long the authority keeps an end. It only has to cover the time KV takes to carry the end's
 * own marker everywhere (KV markers stay the lasting record, STORAGE.md): about 60 s for KV to
 * propagate, up to 60 s of KV's edge cache and up to 60 s of an isolate's session cache. Ten
 * minutes leaves a wide margin and keeps what a new isolate reads at once small.
 */
export const RETENTION_MS = 10 * 60 * 1000
