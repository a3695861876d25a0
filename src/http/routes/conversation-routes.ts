import type { FastifyInstance } from "fastify";
import type { ConversationService } from "../../chat/conversation-service.js";
import type { MessageService } from "../../chat/message-service.js";
import {
  historyQuery,
  listConversationsQuery,
  openConversationInput,
  parse,
  readBody,
  sendMessageBody,
  uuidParam,
} from "../../chat/schemas.js";
import { conversationPage, conversationShape, messagePage, messageShape, noContent, unreadShape } from "../docs/response-schemas.js";
import { caller, type Guards } from "../authenticate.js";
import { asObject, pathUuid } from "../params.js";

type Id = { Params: { id: string } };

export function conversationRoutes(
  app: FastifyInstance,
  deps: { guards: Guards; conversations: ConversationService; messages: MessageService },
): void {
  const { guards, conversations, messages } = deps;
  const user = { preHandler: guards.user };
  const conversationId = (id: string) => pathUuid(id, "conversation");

  app.post("/api/conversations", { ...user, schema: { body: openConversationInput, response: { 200: conversationShape, 201: conversationShape } } }, async (request, reply) => {
    const { listingId } = parse(openConversationInput, request.body);
    const { conversation, created } = await conversations.open(caller(request), listingId);
    return reply.status(created ? 201 : 200).send(conversation);
  });

  app.get("/api/conversations", { ...user, schema: { querystring: listConversationsQuery, response: { 200: conversationPage } } }, async (request) => conversations.list(caller(request), request.query));

  app.get<Id>("/api/conversations/:id", { ...user, schema: { params: uuidParam, response: { 200: conversationShape } } }, async (request) =>
    conversations.get(caller(request), conversationId(request.params.id)),
  );

  app.delete<Id>("/api/conversations/:id", { ...user, schema: { params: uuidParam, response: { 204: noContent } } }, async (request, reply) => {
    await conversations.hide(caller(request), conversationId(request.params.id));
    return reply.status(204).send();
  });

  app.get<Id>("/api/conversations/:id/messages", { ...user, schema: { params: uuidParam, querystring: historyQuery, response: { 200: messagePage } } }, async (request) =>
    messages.history(caller(request), conversationId(request.params.id), request.query),
  );

  app.post<Id>("/api/conversations/:id/messages", { ...user, schema: { params: uuidParam, body: sendMessageBody, response: { 200: messageShape, 201: messageShape } } }, async (request, reply) => {
    const { message, created } = await messages.send(caller(request), {
      ...asObject(request.body),
      conversationId: conversationId(request.params.id),
    });
    return reply.status(created ? 201 : 200).send(message);
  });

  app.post<Id>("/api/conversations/:id/read", { ...user, schema: { params: uuidParam, body: readBody, response: { 204: noContent } } }, async (request, reply) => {
    await messages.markRead(caller(request), {
      ...asObject(request.body),
      conversationId: conversationId(request.params.id),
    });
    return reply.status(204).send();
  });

  app.get("/api/unread", { ...user, schema: { response: { 200: unreadShape } } }, async (request) => messages.unread(caller(request)));
}
