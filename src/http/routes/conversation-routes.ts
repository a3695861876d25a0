import type { FastifyInstance } from "fastify";
import type { ConversationService } from "../../chat/conversation-service.js";
import type { MessageService } from "../../chat/message-service.js";
import { openConversationInput, parse } from "../../chat/schemas.js";
import { caller, type Guards } from "../authenticate.js";
import { asObject, pathUuid } from "../params.js";

type Id = { Params: { id: string } };

export function conversationRoutes(
  app: FastifyInstance,
  deps: { guards: Guards; conversations: ConversationService; messages: MessageService },
): void {
  const { guards, conversations, messages } = deps;
  const user = { preHandler: guards.user };
  const conversationId = (id: string) => pathUuid(id, "Conversation");

  app.post("/api/conversations", user, async (request, reply) => {
    const { listingId } = parse(openConversationInput, request.body);
    const { conversation, created } = await conversations.open(caller(request), listingId);
    return reply.status(created ? 201 : 200).send(conversation);
  });

  app.get("/api/conversations", user, async (request) => conversations.list(caller(request), request.query));

  app.get<Id>("/api/conversations/:id", user, async (request) =>
    conversations.get(caller(request), conversationId(request.params.id)),
  );

  app.delete<Id>("/api/conversations/:id", user, async (request, reply) => {
    await conversations.hide(caller(request), conversationId(request.params.id));
    return reply.status(204).send();
  });

  app.get<Id>("/api/conversations/:id/messages", user, async (request) =>
    messages.history(caller(request), conversationId(request.params.id), request.query),
  );

  app.post<Id>("/api/conversations/:id/messages", user, async (request, reply) => {
    const { message, created } = await messages.send(caller(request), {
      ...asObject(request.body),
      conversationId: conversationId(request.params.id),
    });
    return reply.status(created ? 201 : 200).send(message);
  });

  app.post<Id>("/api/conversations/:id/read", user, async (request, reply) => {
    await messages.markRead(caller(request), {
      ...asObject(request.body),
      conversationId: conversationId(request.params.id),
    });
    return reply.status(204).send();
  });

  app.get("/api/unread", user, async (request) => messages.unread(caller(request)));
}
