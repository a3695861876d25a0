import type { FastifyInstance } from "fastify";
import type { MessageService } from "../../chat/message-service.js";
import type { ReactionService } from "../../chat/reaction-service.js";
import { editMessageBody, reactionParams, uuidParam } from "../../chat/schemas.js";
import { messageShape, noContent } from "../docs/response-schemas.js";
import { caller, type Guards } from "../authenticate.js";
import { asObject, pathUuid } from "../params.js";

type Id = { Params: { id: string } };
type Reaction = { Params: { id: string; emoji: string } };

export function messageRoutes(
  app: FastifyInstance,
  deps: { guards: Guards; messages: MessageService; reactions: ReactionService },
): void {
  const { guards, messages, reactions } = deps;
  const user = { preHandler: guards.user };
  const messageId = (id: string) => pathUuid(id, "message");

  app.patch<Id>("/api/messages/:id", { ...user, schema: { params: uuidParam, body: editMessageBody, response: { 200: messageShape } } }, async (request) =>
    messages.edit(caller(request), { ...asObject(request.body), messageId: messageId(request.params.id) }),
  );

  app.delete<Id>("/api/messages/:id", { ...user, schema: { params: uuidParam, response: { 204: noContent } } }, async (request, reply) => {
    await messages.unsend(caller(request), { messageId: messageId(request.params.id) });
    return reply.status(204).send();
  });

  // Reactions (README, "Reactions"): the emoji is percent-encoded in the path; Fastify decodes it.
  for (const [method, on] of [["PUT", true], ["DELETE", false]] as const) {
    app.route<Reaction>({
      method,
      url: "/api/messages/:id/reactions/:emoji",
      preHandler: guards.user,
      schema: {
        summary: on ? "React to a message with one emoji (idempotent)" : "Take your reaction back (idempotent)",
        params: reactionParams,
        response: { 204: noContent },
      },
      handler: async (request, reply) => {
        await reactions.react(caller(request), { messageId: messageId(request.params.id), emoji: request.params.emoji, on });
        return reply.status(204).send();
      },
    });
  }
}
