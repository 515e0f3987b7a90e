/**
 * Waiting on another server for a bounded time: a probe, a scrape or a
 * shutdown step must not hang because a server went silent. The timer is
 * cleared either way, so it never keeps a stopping process alive.
 */

/** `promise`'s value, or undefined if `ms` pass first (a rejection before then still rejects). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
