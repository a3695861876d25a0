// The one list of error codes (code → HTTP status and default message) used by the HTTP error
// handler and by Socket.IO acks alike, so a client sees the same { code, message } on both.

import type { ErrorBody, ErrorCode } from "../contract/socket-events.js";

export type { ErrorBody, ErrorCode };

export const ERRORS = {
  unauthorized: { status: 401, message: "Missing, invalid or expired token" },
  forbidden: { status: 403, message: "You are not allowed to do this" },
  blocked: { status: 403, message: "One of you has blocked the other" },
  not_found: { status: 404, message: "Not found" },
  validation_failed: { status: 400, message: "The request is invalid" },
  conflict: { status: 409, message: "The request conflicts with the current state" },
  payload_too_large: { status: 413, message: "The request is too large" },
  unsupported_media_type: { status: 415, message: "This content type is not supported" },
  rate_limited: { status: 429, message: "Too many requests, slow down" },
  unavailable: { status: 503, message: "The service is temporarily unavailable" },
  internal: { status: 500, message: "Something went wrong on our side" },
} as const satisfies Record<ErrorCode, { status: number; message: string }>;

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly retryAfterMs?: number,
  ) {
    super(message ?? ERRORS[code].message);
    this.status = ERRORS[code].status;
  }

  toBody(): ErrorBody {
    return this.retryAfterMs === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, retryAfterMs: this.retryAfterMs };
  }
}

export const notFound = (what = "Not found") => new AppError("not_found", what);
export const invalid = (message: string) => new AppError("validation_failed", message);
export const forbidden = (message?: string) => new AppError("forbidden", message);
export const conflict = (message: string) => new AppError("conflict", message);
