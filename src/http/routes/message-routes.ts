import type { FastifyInstance } from "fastify";
import type { MessageService } from "../../chat/message-service.js";
import { editMessageBody, uuidParam } from "../../chat/schemas.js";
import { messageShape, noContent } from "../docs/response-schemas.js";
import { caller, type Guards } from "../authenticate.js";
import { asObject, pathUuid } from "../params.js";

type Id = { Params: { id: string } };

export function messageRoutes(app: FastifyInstance, deps: { guards: Guards; messages: MessageService }): void {
  const { guards, messages } = deps;
  const user = { preHandler: guards.user };
  const messageId = (id: string) => pathUuid(id, "Message");

  app.patch<Id>("/api/messages/:id", { ...user, schema: { params: uuidParam, body: editMessageBody, response: { 200: messageShape } } }, async (request) =>
    messages.edit(caller(request), { ...asObject(request.body), messageId: messageId(request.params.id) }),
  );

  app.delete<Id>("/api/messages/:id", { ...user, schema: { params: uuidParam, response: { 204: noContent } } }, async (request, reply) => {
    await messages.unsend(caller(request), { messageId: messageId(request.params.id) });
    return reply.status(204).send();
  });
}
