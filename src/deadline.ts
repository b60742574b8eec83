/**
 * `work`, or a rejection with `late()` once `ms` have passed (the work itself is abandoned): a
 * dependency that hangs must not hang a request, a socket's re-check or a cron run.
 */
export async function withinMs<T>(
  work: Promise<T>,
  ms: number,
  late: () => Error = () => new Error(`no answer within ${ms} ms`),
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(late()), ms)
      }),
    ])
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}
