// GET /api/admin/flags: the moderation flags list (contact details, the moderation hook, spam), for admins.
import type { FastifyInstance } from "fastify";
import { flagsQuery, type FlagService } from "../../chat/flag-service.js";
import { flagShape, page } from "../docs/response-schemas.js";
import type { Guards } from "../authenticate.js";

export function flagRoutes(app: FastifyInstance, deps: { guards: Guards; flags: FlagService }): void {
  app.get("/api/admin/flags", { preHandler: deps.guards.admin, schema: { querystring: flagsQuery, response: { 200: page(flagShape) } } }, async (request) => deps.flags.list(request.query));
}
