// Every HTTP failure leaves in the contract's shape { error: { code, message } }, including
// Fastify's own (malformed JSON, unknown route, body too large, wrong content type).
import type { FastifyError, FastifyInstance } from "fastify";
import { AppError, type ErrorCode } from "../errors/errors.js";

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
  return new AppError("internal");
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const appError = toAppError(err);
    if (appError.code === "internal") request.log.error({ err }, "request failed");
    if (appError.retryAfterMs !== undefined) {
      reply.header("Retry-After", Math.max(1, Math.ceil(appError.retryAfterMs / 1000)));
    }
    const body = { code: appError.code, message: appError.message };
    return reply.status(appError.status).send({ error: body });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: "not_found", message: `No route for ${request.method} ${request.url.split("?")[0]}` } }),
  );
}

/**
 * JSON bodies as Fastify parses them (prototype-poisoning protection included), except that an
 * empty body reads as no body: many HTTP clients send `Content-Type: application/json` on a POST
 * without one (POST …/read, where every field is optional).
 */
export function registerJsonParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text.trim() === "") {
      done(null, undefined);
      return;
    }
    parseJson(request, text, done);
  });
}
