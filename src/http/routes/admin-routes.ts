// Admin endpoints, and the users' side of broadcasts (the catch-up list) next to the admin's.
//
// Roles: the moderation queue is for admins only (reports name users and quote messages). Bans
// and broadcasts also admit the marketplace's `service` token: the marketplace owns its users,
// so a ban on the marketplace can reach the chat without a human admin (API.md: broadcast is
// "admin or service").
import type { FastifyInstance } from "fastify";
import type { BroadcastService } from "../../chat/broadcast-service.js";
import type { ModerationService } from "../../chat/moderation-service.js";
import { caller, type Guards } from "../authenticate.js";

type Id = { Params: { id: string } };

export function adminRoutes(
  app: FastifyInstance,
  deps: { guards: Guards; moderation: ModerationService; broadcasts: BroadcastService },
): void {
  const { guards, moderation, broadcasts } = deps;
  const admin = { preHandler: guards.admin };
  const adminOrService = { preHandler: guards.adminOrService };

  app.get("/api/admin/reports", admin, async (request) => moderation.listReports(request.query));

  app.post<Id>("/api/admin/reports/:id/resolve", admin, async (request) =>
    moderation.resolveReport(caller(request), request.params.id),
  );

  app.post<Id>("/api/admin/users/:id/ban", adminOrService, async (request, reply) => {
    await moderation.ban(caller(request), request.params.id);
    return reply.status(204).send();
  });

  app.post<Id>("/api/admin/users/:id/unban", adminOrService, async (request, reply) => {
    await moderation.unban(caller(request), request.params.id);
    return reply.status(204).send();
  });

  app.post("/api/admin/broadcast", adminOrService, async (request, reply) =>
    reply.status(201).send(await broadcasts.create(caller(request), request.body)),
  );

  app.get("/api/broadcasts", { preHandler: guards.user }, async (request) => broadcasts.list(request.query));
}
