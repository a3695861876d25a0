// Admin endpoints, and the users' side of broadcasts (the catch-up list) next to the admin's.
//
// Roles: the moderation queue is for admins only (reports name users and quote messages). Bans
// and broadcasts also admit the marketplace's `service` token: the marketplace owns its users,
// so a ban on the marketplace can reach the chat without a human admin (API.md: broadcast is
// "admin or service").
import type { FastifyInstance } from "fastify";
import type { BroadcastService } from "../../chat/broadcast-service.js";
import type { ModerationService } from "../../chat/moderation-service.js";
import { adminReportsQuery, broadcastInput, broadcastsQuery, idParam, uuidParam } from "../../chat/schemas.js";
import { broadcastShape, noContent, page, reportShape } from "../docs/response-schemas.js";
import { caller, type Guards } from "../authenticate.js";

type Id = { Params: { id: string } };

export function adminRoutes(
  app: FastifyInstance,
  deps: { guards: Guards; moderation: ModerationService; broadcasts: BroadcastService },
): void {
  const { guards, moderation, broadcasts } = deps;
  const admin = { preHandler: guards.admin };
  const adminOrService = { preHandler: guards.adminOrService };

  app.get("/api/admin/reports", { ...admin, schema: { querystring: adminReportsQuery, response: { 200: page(reportShape) } } }, async (request) => moderation.listReports(request.query));

  app.post<Id>("/api/admin/reports/:id/resolve", { ...admin, schema: { params: uuidParam, response: { 200: reportShape } } }, async (request) =>
    moderation.resolveReport(caller(request), request.params.id),
  );

  app.post<Id>("/api/admin/users/:id/ban", { ...adminOrService, schema: { params: idParam, response: { 204: noContent } } }, async (request, reply) => {
    await moderation.ban(caller(request), request.params.id);
    return reply.status(204).send();
  });

  app.post<Id>("/api/admin/users/:id/unban", { ...adminOrService, schema: { params: idParam, response: { 204: noContent } } }, async (request, reply) => {
    await moderation.unban(caller(request), request.params.id);
    return reply.status(204).send();
  });

  app.post("/api/admin/broadcast", { ...adminOrService, schema: { body: broadcastInput, response: { 201: broadcastShape } } }, async (request, reply) =>
    reply.status(201).send(await broadcasts.create(caller(request), request.body)),
  );

  app.get("/api/broadcasts", { preHandler: guards.user, schema: { querystring: broadcastsQuery, response: { 200: page(broadcastShape) } } }, async (request) => broadcasts.list(request.query));
}
