// The Fastify server's options: logging without query strings, request ids, the contract's error
// shape for what Fastify and Node refuse before a route runs, and time limits on requests.
import type { FastifyReply, FastifyServerOptions } from "fastify";
import type { Config } from "../config/config.js";
import { clientErrorHandler } from "../http/client-errors.js";
import { requestIdOf } from "../http/request-id.js";

export function fastifyOptions(config: Config) {
  return {
    logger: {
      level: config.LOG_LEVEL,
      base: { node: config.NODE_ID },
      // Query strings can hold search text and URL signatures: log paths only.
      serializers: {
        req: (req: { method: string; url: string; id: string }) => ({ method: req.method, url: req.url.split("?")[0], id: req.id }),
      },
    },
    bodyLimit: config.BODY_LIMIT_BYTES,
    // X-Request-Id (http/request-id.ts): validated here, not taken as sent.
    requestIdHeader: false,
    genReqId: requestIdOf,
    // Node's parser errors (431, 400, 408) in the contract's error shape.
    clientErrorHandler,
    // A request (headers and body) must arrive within this time: a client that drips its body
    // byte by byte is cut off (README, "Connection limits").
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    trustProxy: config.TRUST_PROXY,
    return503OnClosing: true,
    forceCloseConnections: "idle",
    // Path ids are up to 128 characters (user ids in /api/blocks/:userId, /api/admin/users/:id,
    // /api/internal/users/:id), percent-encoded up to 3 bytes each; Fastify's default is 100.
    routerOptions: { maxParamLength: 512 },
    // A malformed percent-encoding or an over-long path segment names nothing that exists:
    // not_found in the contract's shape, not Fastify's own 400/414 body.
    frameworkErrors: (_err: Error, _request: unknown, reply: unknown) => {
      void (reply as FastifyReply).status(404).send({ error: { code: "not_found", message: "Not found" } });
    },
  } satisfies FastifyServerOptions;
}
