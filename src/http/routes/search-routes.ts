import type { FastifyInstance } from "fastify";
import type { SearchService } from "../../chat/search-service.js";
import { caller, type Guards } from "../authenticate.js";

/** GET /api/search?q&conversationId&limit&cursor: { items: [{ message, highlight }], nextCursor }. */
export function searchRoutes(app: FastifyInstance, deps: { guards: Guards; search: SearchService }): void {
  app.get("/api/search", { preHandler: deps.guards.user }, async (request) => deps.search.search(caller(request), request.query));
}
