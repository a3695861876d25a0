// Any thrown error as the contract's AppError: ours pass through, the framework's own failures
// (Fastify's and its plugins' FST_* codes, JSON syntax errors, 4xx statuses) get their contract
// code, a lost database or Redis connection is `unavailable`, anything else is `internal`. Used by the HTTP error handler and the socket handlers alike.
import type { FastifyError } from "fastify";
import { AppError, type ErrorCode } from "./errors.js";
import { isUnavailableError, UNAVAILABLE_RETRY_AFTER_MS } from "./unavailable-errors.js";

const FASTIFY_CODES: Record<string, { code: ErrorCode; message?: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: "unsupported_media_type", message: "Send JSON (Content-Type: application/json)" },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: "validation_failed", message: "Content-Length does not match the body" },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: "payload_too_large" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: "validation_failed", message: "The JSON body is empty" },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: "validation_failed", message: "The body is not valid JSON" },
  FST_ERR_VALIDATION: { code: "validation_failed" },
  FST_ERR_BAD_URL: { code: "not_found", message: "Not found" },
  FST_ERR_ASYNC_CONSTRAINT: { code: "not_found", message: "Not found" },
  // @fastify/multipart (POST /api/uploads)
  FST_REQ_FILE_TOO_LARGE: { code: "payload_too_large", message: "A file is larger than the upload limit" },
  FST_FILES_LIMIT: { code: "payload_too_large", message: "Too many files in one upload" },
  FST_PARTS_LIMIT: { code: "payload_too_large", message: "Too many parts in the multipart body" },
  FST_FIELDS_LIMIT: { code: "payload_too_large", message: "Too many fields in the multipart body" },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { code: "unsupported_media_type", message: "Send multipart/form-data" },
  FST_PROTO_VIOLATION: { code: "validation_failed", message: "A multipart field name is not allowed" },
  FST_INVALID_JSON_FIELD_ERROR: { code: "validation_failed", message: "A multipart JSON field is not valid JSON" },
};

export function toAppError(err: FastifyError | Error): AppError {
  if (err instanceof AppError) return err;
  const fe = err as FastifyError;
  const known = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (known) return new AppError(known.code, known.message ?? (fe.validation ? fe.message : undefined));
  if (err instanceof SyntaxError && fe.statusCode === 400) return new AppError("validation_failed", "The body is not valid JSON");
  if (fe.statusCode === 413) return new AppError("payload_too_large");
  if (fe.statusCode === 415) return new AppError("unsupported_media_type");
  if (fe.statusCode === 429) return new AppError("rate_limited");
  if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new AppError("validation_failed", fe.message);
  }
  // PostgreSQL or Redis not answering: the client may retry (Retry-After), it is not a bug.
  if (isUnavailableError(err)) {
    return new AppError("unavailable", "A store the service depends on is not answering; retry shortly", UNAVAILABLE_RETRY_AFTER_MS);
  }
  return new AppError("internal");
}
