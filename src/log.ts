/**
 * One structured line per event. Callers pass only fields that are safe to keep: never an email in
 * clear, a cookie, a code, a link, a token or a secret.
 */
export function log(fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ time: new Date().toISOString(), ...fields }))
}
