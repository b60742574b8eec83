// The baseline: a bare pass-through Worker, written separately from the gateway. It forwards
// method, path, query, headers and body to ORIGIN_URL and returns the answer unchanged.
export default {
  async fetch(request, env) {
    const url = new URL(request.url)
    return fetch(`${env.ORIGIN_URL}${url.pathname}${url.search}`, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
    })
  },
}
