// Headers every API response carries (README, "HTTP for browsers and tools"): answers are JSON
// about one user, so no browser may sniff them into something else, no cache may keep them, and
// no link inside them leaks the page's address. Responses that set their own Cache-Control
// (attachments, which browsers cache by their signed URL; static pages) keep it.
import type { FastifyInstance } from "fastify";

export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook("onSend", async (_request, reply, payload) => {
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
    if (!reply.hasHeader("cache-control")) reply.header("cache-control", "no-store");
    return payload;
  });
}
