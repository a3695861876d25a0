// What every user has for moderation: a block list and reports.
import type { FastifyInstance } from "fastify";
import type { ModerationService } from "../../chat/moderation-service.js";
import { caller, type Guards } from "../authenticate.js";

export function moderationRoutes(app: FastifyInstance, deps: { guards: Guards; moderation: ModerationService }): void {
  const { guards, moderation } = deps;
  const user = { preHandler: guards.user };

  app.post("/api/blocks", user, async (request, reply) => {
    const { block, created } = await moderation.block(caller(request), request.body);
    return reply.status(created ? 201 : 200).send(block);
  });

  app.delete<{ Params: { userId: string } }>("/api/blocks/:userId", user, async (request, reply) => {
    await moderation.unblock(caller(request), request.params.userId);
    return reply.status(204).send();
  });

  app.get("/api/blocks", user, async (request) => moderation.listBlocks(caller(request), request.query));

  app.post("/api/reports", user, async (request, reply) =>
    reply.status(201).send(await moderation.report(caller(request), request.body)),
  );
}
