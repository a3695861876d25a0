// Every HTTP failure leaves in the contract's shape { error: { code, message } }, including
// Fastify's own (malformed JSON, unknown route, body too large, wrong content type).
import type { FastifyError, FastifyInstance } from "fastify";
import { AppError } from "../errors/errors.js";
import { toAppError } from "../errors/to-app-error.js";
import { errorKey, RepeatedLog } from "../errors/repeated-log.js";


export function registerErrorHandling(app: FastifyInstance): void {
  // The same failure over and over (a database outage fails every request alike) is logged once
  // per interval with a count; `unavailable` without a stack: it is an outage, not a bug.
  const repeated = new RepeatedLog({
    summary: (key, count, ms) => app.log.warn({ repeated: count }, `${key} (repeated ${count} times in the last ${ms / 1000} s)`),
  });
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const appError = toAppError(err);
    if (appError.code === "internal") {
      repeated.report(errorKey("request failed", err), () => request.log.error({ err }, "request failed"));
    } else if (appError.code === "unavailable" && !(err instanceof AppError)) {
      repeated.report(errorKey("request refused: unavailable", err), () =>
        request.log.warn({ cause: (err as Error).message }, "request refused: unavailable"),
      );
    }
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
