import type { FastifyInstance } from "fastify";
import type { PresenceService } from "../../chat/presence-service.js";
import { caller, type Guards } from "../authenticate.js";

export function presenceRoutes(app: FastifyInstance, deps: { guards: Guards; presence: PresenceService }): void {
  const { guards, presence } = deps;
  // GET /api/presence?userIds=a,b → [{ userId, online, lastSeenAt }] in the order asked, once each.
  app.get("/api/presence", { preHandler: guards.user }, async (request) => presence.lookup(caller(request), request.query));
}
