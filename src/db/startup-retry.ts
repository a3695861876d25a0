// Start-up while PostgreSQL is away (a failover, a cluster starting in any order): the node waits
// and retries instead of exiting, so it comes up by itself once the database does. Bounded
// (DATABASE_STARTUP_TIMEOUT_MS) so that a wrong DATABASE_URL still ends in a clear failure, and
// logged once per attempt, with growing pauses (0.5 s doubling up to 5 s).
import { isUnavailableError } from "../errors/unavailable-errors.js";

export interface StartupRetryOptions {
  /** Give up (rethrow the last error) after this long; 0 tries once. */
  timeoutMs: number;
  log: (line: string) => void;
  /** Pause before the first retry; doubles up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/** Runs `attempt` until it succeeds, retrying only errors that mean "the database is not answering". */
export async function retryWhileUnavailable<T>(what: string, attempt: () => Promise<T>, options: StartupRetryOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let delay = options.initialDelayMs ?? 500;
  for (let n = 1; ; n++) {
    try {
      const result = await attempt();
      if (n > 1) options.log(`${what}: database reachable after ${n} attempts`);
      return result;
    } catch (err) {
      const left = deadline - Date.now();
      if (!isUnavailableError(err) || left <= 0) throw err;
      const pause = Math.min(delay, left);
      options.log(
        `${what}: database not reachable (${describe(err)}); attempt ${n}, retrying in ${(pause / 1000).toFixed(1)} s, giving up in ${Math.ceil(left / 1000)} s`,
      );
      await new Promise((resolve) => setTimeout(resolve, pause));
      delay = Math.min(delay * 2, options.maxDelayMs ?? 5_000);
    }
  }
}

function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === "string" ? e.code : "";
  const message = typeof e.message === "string" ? e.message : String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
