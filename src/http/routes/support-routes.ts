// Support conversations (README, "Support conversations"): a user opens theirs, an admin opens
// anyone's; admins list them all in their inbox. Everything else (history, send, read, uploads)
// goes through the ordinary conversation routes, where every admin acts as the team.
import type { FastifyInstance } from "fastify";
import type { ConversationService } from "../../chat/conversation-service.js";
import { openSupportInput, supportInboxQuery } from "../../chat/schemas.js";
import { conversationPage, conversationShape } from "../docs/response-schemas.js";
import { caller, type Guards } from "../authenticate.js";

export function supportRoutes(app: FastifyInstance, deps: { guards: Guards; conversations: ConversationService }): void {
  const { guards, conversations } = deps;

  app.post(
    "/api/support/conversations",
    {
      preHandler: guards.user,
      schema: {
        summary: "Open (get or create) a support conversation: your own, or an admin's for userId",
        body: openSupportInput,
        response: { 200: conversationShape, 201: conversationShape },
      },
    },
    async (request, reply) => {
      // No body at all is "my own": same as {}.
      const { conversation, created } = await conversations.openSupport(caller(request), request.body ?? {});
      return reply.status(created ? 201 : 200).send(conversation);
    },
  );

  app.get(
    "/api/admin/support",
    {
      preHandler: guards.admin,
      schema: {
        summary: "Support conversations with a message, latest activity first, with the team's unread counts",
        querystring: supportInboxQuery,
        response: { 200: conversationPage },
      },
    },
    async (request) => conversations.supportInbox(caller(request), request.query),
  );
}
