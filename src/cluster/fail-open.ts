// A Redis check that fails open: the rate limiter and the duplicate-content counter ask Redis on
// the send path, and a Redis outage must not stop people from talking. A check Redis does not
// answer in time is allowed; the log hears once when an outage starts and once when it ends.
import { withTimeout } from "../util/with-timeout.js";

export interface FailOpenOptions {
  /**
   * A check that Redis has not answered within this long is allowed.
   * @default 250
   */
  timeoutMs?: number;
  /** The first check of an outage that failed open (Redis unreachable or slow), for the log. */
  onError?: (err: Error) => void;
  /** The first check that worked again after an outage. */
  onRecover?: () => void;
}

export class FailOpen {
  private readonly timeoutMs: number;
  private failing = false;

  constructor(private readonly options: FailOpenOptions) {
    this.timeoutMs = options.timeoutMs ?? 250;
  }

  /** `call`'s answer, or `allowed` when Redis fails or is slower than the timeout. */
  async check<T>(what: string, call: Promise<T>, allowed: T): Promise<T> {
    try {
      const answer = await withTimeout(call, this.timeoutMs, `${what} took over ${this.timeoutMs} ms`);
      if (this.failing) {
        this.failing = false;
        this.options.onRecover?.();
      }
      return answer;
    } catch (err) {
      // A timed-out command may still fail later; it was already counted as this failure.
      call.catch((late: unknown) => late);
      if (!this.failing) this.options.onError?.(err as Error);
      this.failing = true;
      return allowed;
    }
  }
}
