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

/**
 * What an unknown (or not-to-be-seen) id names, in one wording per subject: the same not_found
 * whichever route or event asked, so a client cannot tell "missing" from "not yours".
 */
const NOT_FOUND = {
  conversation: "Conversation not found",
  message: "Message not found",
  user: "User not found",
  listing: "Listing not found",
  attachment: "Attachment not found",
  offer: "Offer not found",
  report: "Report not found",
} as const;
export type Subject = keyof typeof NOT_FOUND;

export const notFound = (subject?: Subject) => new AppError("not_found", subject ? NOT_FOUND[subject] : undefined);
export const invalid = (message: string) => new AppError("validation_failed", message);
export const forbidden = (message?: string) => new AppError("forbidden", message);
export const conflict = (message: string) => new AppError("conflict", message);

// Refusals said in several places, in one wording each.
export const invalidCursor = () => invalid("cursor is invalid");
export const listingDeleted = () => conflict("This listing has been deleted: the conversation is read-only");
export const bannedAccount = () => forbidden("This account has been banned");
export const messageUnsent = () => conflict("This message was unsent");
