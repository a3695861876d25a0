/**
 * Settles like `promise`, or rejects with `new Error(message)` after `ms`: for calls to Redis or a
 * peer whose slowness must not hold a caller (a lock, a send's ack, a readiness probe) longer than a
 * bound. The timer is always cleared, so a settled call leaves nothing behind; the caller decides
 * what a late failure of the abandoned promise means (see the rate limiter).
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message = `timed out after ${ms} ms`): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
