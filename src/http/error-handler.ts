// Every HTTP failure leaves in the contract's shape { error: { code, message } }, including
// Fastify's own (malformed JSON, unknown route, body too large, wrong content type).
import type { FastifyError, FastifyInstance } from "fastify";
import { toAppError } from "../errors/to-app-error.js";


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
