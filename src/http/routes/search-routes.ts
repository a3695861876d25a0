import type { FastifyInstance } from "fastify";
import type { SearchService } from "../../chat/search-service.js";
import { searchQuery } from "../../chat/search-service.js";
import { page, searchResultShape } from "../docs/response-schemas.js";
import { caller, type Guards } from "../authenticate.js";

/** GET /api/search?q&conversationId&limit&cursor: { items: [{ message, highlight }], nextCursor }. */
export function searchRoutes(app: FastifyInstance, deps: { guards: Guards; search: SearchService }): void {
  app.get("/api/search", { preHandler: deps.guards.user, schema: { querystring: searchQuery, response: { 200: page(searchResultShape) } } }, async (request) => deps.search.search(caller(request), request.query));
}
