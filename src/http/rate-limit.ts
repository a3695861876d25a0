// HTTP rate limits (README, "Rate limits"): per user on the routes of the table below, checked
// right after the route's authentication, and per client address on requests that carry no token
// at all (signed attachment URLs, unknown paths, probes), checked before anything else runs.
// Message sends are limited in the message service instead, for HTTP and sockets alike.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import { Counter, type Registry } from "prom-client";
import { rateLimited, type RateLimit, type RateLimiter } from "../cluster/rate-limiter.js";

export interface RouteRateLimit {
  /** Names the bucket (keys are `<name>:<user id>`) and the metric label. */
  name: string;
  /** What the error message says there were too many of. */
  what: string;
  method: string;
  /** The route's path as registered ("/api/reports"). */
  url: string;
  limit: RateLimit | null;
}

export interface HttpRateLimitOptions {
  limiter: RateLimiter;
  /** Per client address, on requests without an Authorization header. Null: none. */
  anonymous: RateLimit | null;
  routes: RouteRateLimit[];
  /** Requests refused, by rule (marketchat_rate_limited_total). */
  counter: Counter<"rule">;
}

/** Probes must never be refused: an orchestrator would restart a node that is merely busy. */
const EXEMPT_URLS = new Set(["/healthz", "/readyz", "/metrics"]);

export function rateLimitCounter(registry: Registry): Counter<"rule"> {
  return new Counter({
    name: "marketchat_rate_limited_total",
    help: "Requests and socket events refused by a rate limit, by rule",
    labelNames: ["rule"],
    registers: [registry],
  });
}

/** Must be called before the routes are registered: it attaches the per-user checks to them. */
export function registerRateLimits(app: FastifyInstance, options: HttpRateLimitOptions): void {
  const { limiter, anonymous, counter } = options;

  if (anonymous) {
    app.addHook("onRequest", async (request: FastifyRequest) => {
      if (request.headers.authorization !== undefined || EXEMPT_URLS.has(request.routeOptions.url ?? "")) return;
      const decision = await limiter.consume(`ip:${request.ip}`, anonymous);
      if (decision.allowed) return;
      counter.inc({ rule: "anonymous" });
      throw rateLimited("requests from this address", decision.retryAfterMs);
    });
  }

  const byRoute = new Map(
    options.routes.filter((r) => r.limit !== null).map((r) => [`${r.method} ${r.url}`, r as RouteRateLimit & { limit: RateLimit }]),
  );
  app.addHook("onRoute", (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const rule = methods.map((m) => byRoute.get(`${m} ${route.url}`)).find((r) => r !== undefined);
    if (!rule) return;
    // Appended to the route's own preHandlers, so it runs after the guard that sets the principal
    // and before the body is used (uploads stream their body in the handler).
    const check = async (request: FastifyRequest, _reply: FastifyReply) => {
      const userId = request.principal?.userId;
      if (userId === undefined) return;
      const decision = await limiter.consume(`${rule.name}:${userId}`, rule.limit);
      if (decision.allowed) return;
      counter.inc({ rule: rule.name });
      throw rateLimited(rule.what, decision.retryAfterMs);
    };
    const existing = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler];
    route.preHandler = [...existing, check];
  });
}
