// GET /api/admin/flags: the moderation flags list (contact details, the moderation hook, spam), for admins.
import type { FastifyInstance } from "fastify";
import type { FlagService } from "../../chat/flag-service.js";
import type { Guards } from "../authenticate.js";

export function flagRoutes(app: FastifyInstance, deps: { guards: Guards; flags: FlagService }): void {
  app.get("/api/admin/flags", { preHandler: deps.guards.admin }, async (request) => deps.flags.list(request.query));
}
