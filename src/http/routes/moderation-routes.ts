// What every user has for moderation: a block list and reports.
import type { FastifyInstance } from "fastify";
import type { ModerationService } from "../../chat/moderation-service.js";
import { blockInput, blocksQuery, reportInput } from "../../chat/schemas.js";
import { blockShape, noContent, page, reportReceiptShape } from "../docs/response-schemas.js";
import { caller, type Guards } from "../authenticate.js";
import { z } from "zod";

export function moderationRoutes(app: FastifyInstance, deps: { guards: Guards; moderation: ModerationService }): void {
  const { guards, moderation } = deps;
  const user = { preHandler: guards.user };

  app.post("/api/blocks", { ...user, schema: { body: blockInput, response: { 200: blockShape, 201: blockShape } } }, async (request, reply) => {
    const { block, created } = await moderation.block(caller(request), request.body);
    return reply.status(created ? 201 : 200).send(block);
  });

  app.delete<{ Params: { userId: string } }>("/api/blocks/:userId", { ...user, schema: { params: z.object({ userId: blockInput.shape.userId }), response: { 204: noContent } } }, async (request, reply) => {
    await moderation.unblock(caller(request), request.params.userId);
    return reply.status(204).send();
  });

  app.get("/api/blocks", { ...user, schema: { querystring: blocksQuery, response: { 200: page(blockShape) } } }, async (request) => moderation.listBlocks(caller(request), request.query));

  app.post("/api/reports", { ...user, schema: { body: reportInput, response: { 201: reportReceiptShape } } }, async (request, reply) =>
    reply.status(201).send(await moderation.report(caller(request), request.body)),
  );
}
