// CORS on every HTTP route for CORS_ORIGINS, the same list the Socket.IO server admits (API.md,
// "HTTP for browsers and tools"). The allowed origin is echoed, never `*`; a preflight is answered
// 204. The headers are set in onRequest, before anything can fail, so error responses carry them
// too and a browser app can read the error body.
import cors from "@fastify/cors";
import type { FastifyInstance } from "fastify";
import { REQUEST_ID_HEADER } from "./request-id.js";

/** How long a browser may reuse a preflight's answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

export async function registerCors(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  const allowed = new Set(origins);
  await app.register(cors, {
    // A function, so an origin outside the list gets no CORS headers at all (not a `false` echo).
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    allowedHeaders: ["Authorization", "Content-Type", REQUEST_ID_HEADER, "If-None-Match", "If-Range", "Range"],
    exposedHeaders: [REQUEST_ID_HEADER, "Retry-After", "ETag", "Content-Range", "Content-Disposition"],
    // As for Socket.IO: an app on an allowed origin may also send cookies to its own proxy.
    credentials: true,
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
    optionsSuccessStatus: 204,
    // Preflights are answered whatever path they name (the route is checked by the real request).
    strictPreflight: false,
  });
}
