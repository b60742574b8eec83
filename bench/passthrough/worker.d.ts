// Types for worker.js, so the in-isolate bench Worker (bench/isolate-worker.ts) can import it.
declare const worker: {
  fetch(request: Request, env: { ORIGIN_URL: string }): Promise<Response>
}
export default worker
