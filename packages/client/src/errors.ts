// One error type for everything the client does: the contract's error codes (API.md, "Errors")
// plus the client's own for what never reached the service.
import type { ErrorCode } from "./contract.js";

/**
 * `timeout`: no ack in time; `disconnected`: the client was closed; `network`: the HTTP request
 * did not get an answer; `aborted`: the caller's AbortSignal fired.
 */
export type ChatErrorCode = ErrorCode | "timeout" | "disconnected" | "network" | "aborted";

export interface ChatErrorDetails {
  /** HTTP status, when the error came from an HTTP answer. */
  status?: number;
  /** From `Retry-After` (HTTP) or the ack's `retryAfterMs` (socket) on `rate_limited`. */
  retryAfterMs?: number;
  requestId?: string;
}

export class ChatError extends Error {
  override readonly name = "ChatError";
  constructor(
    readonly code: ChatErrorCode,
    message: string,
    readonly details: ChatErrorDetails = {},
  ) {
    super(message);
  }
}

/** Codes worth retrying unchanged: the same request may succeed later. */
const RETRYABLE = new Set<string>(["unavailable", "rate_limited", "timeout", "network"]);

export function isRetryable(err: unknown): err is ChatError {
  return err instanceof ChatError && RETRYABLE.has(err.code);
}

/** Backoff with jitter: 100 ms doubling up to 5 s (or what the service asked for). */
export function retryDelay(attempt: number, err?: ChatError): number {
  const asked = err?.details.retryAfterMs;
  const base = Math.min(5_000, 100 * 2 ** attempt);
  return Math.max(asked ?? 0, base * (0.5 + Math.random() / 2));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ChatError("aborted", "Aborted"));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ChatError("aborted", "Aborted"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
