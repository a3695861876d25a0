// X-Request-Id (API.md, "HTTP for browsers and tools"): a caller's id is kept when it is safe to
// echo and to log (up to 128 characters of [A-Za-z0-9._-]); otherwise the node makes one that is
// unique across nodes and restarts (a random UUID: node ids repeat when a container restarts with
// the same host name and pid 1). Fastify logs it with every line of the request (`reqId`), the
// response carries it as a header, and every error body as `error.requestId`.
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { FastifyInstance } from "fastify";

export const REQUEST_ID_HEADER = "x-request-id";
const SAFE_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Fastify's genReqId: the caller's id when well-formed, else a new one. */
export function requestIdOf(raw: IncomingMessage): string {
  const given = raw.headers[REQUEST_ID_HEADER];
  return typeof given === "string" && SAFE_ID.test(given) ? given : randomUUID();
}

/** Echoes the id on every response and adds it to every error body of the contract's shape. */
export function registerRequestIds(app: FastifyInstance): void {
  app.addHook("onRequest", async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
  });
  // Error bodies are objects until they are serialized: the error handler's, the not-found
  // handler's and those routes send themselves (a 416 on attachments) all pass here.
  app.addHook("preSerialization", async (request, reply, payload: unknown) => {
    if (reply.statusCode < 400 || !isErrorBody(payload) || payload.error.requestId !== undefined) return payload;
    return { ...payload, error: { ...payload.error, requestId: request.id } };
  });
}

function isErrorBody(payload: unknown): payload is { error: { requestId?: unknown } } {
  const error = (payload as { error?: unknown } | null)?.error;
  return typeof error === "object" && error !== null && !Array.isArray(error);
}
