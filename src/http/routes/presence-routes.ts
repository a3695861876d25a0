import type { FastifyInstance } from "fastify";
import type { PresenceService } from "../../chat/presence-service.js";
import { presenceQuery } from "../../chat/presence-service.js";
import { presenceShape } from "../docs/response-schemas.js";
import { caller, type Guards } from "../authenticate.js";
import { z } from "zod";

export function presenceRoutes(app: FastifyInstance, deps: { guards: Guards; presence: PresenceService }): void {
  const { guards, presence } = deps;
  // GET /api/presence?userIds=a,b → [{ userId, online, lastSeenAt }] in the order asked, once each.
  app.get("/api/presence", { preHandler: guards.user, schema: { querystring: presenceQuery, response: { 200: z.array(presenceShape) } } }, async (request) => presence.lookup(caller(request), request.query));
}
