// Offers over HTTP (API.md, "Offers"; README, "Offers"). The rules, and the parsing of bodies,
// are chat/offer-service.ts; the schemas here are the same ones, for the OpenAPI document.
import type { FastifyInstance } from "fastify";
import { counterBodySchema, offerBodySchema, type OfferService } from "../../chat/offer-service.js";
import { uuidParam } from "../../chat/schemas.js";
import { messageShape } from "../docs/response-schemas.js";
import { caller, type Guards } from "../authenticate.js";
import { asObject, pathUuid } from "../params.js";

type Id = { Params: { id: string } };

export function offerRoutes(app: FastifyInstance, deps: { guards: Guards; offers: OfferService; maxAmountCents: number }): void {
  const { guards, offers } = deps;
  const user = { preHandler: guards.user };
  const offerBody = offerBodySchema(deps.maxAmountCents);
  const counterBody = counterBodySchema(deps.maxAmountCents);
  const updated = (summary: string) => ({ summary, params: uuidParam, response: { 200: messageShape } });

  app.post<Id>(
    "/api/conversations/:id/offers",
    {
      ...user,
      schema: {
        summary: "Make an offer in the listing's currency: 201 an offer message (200 for a clientId already used); conflict while one is pending",
        params: uuidParam,
        body: offerBody,
        response: { 200: messageShape, 201: messageShape },
      },
    },
    async (request, reply) => {
      const { message, created } = await offers.make(caller(request), pathUuid(request.params.id, "conversation"), asObject(request.body));
      return reply.status(created ? 201 : 200).send(message);
    },
  );

  app.post<Id>("/api/offers/:id/accept", { ...user, schema: updated("Accept a pending offer (the other participant)") }, async (request) =>
    offers.accept(caller(request), request.params.id),
  );
  app.post<Id>("/api/offers/:id/decline", { ...user, schema: updated("Decline a pending offer (the other participant)") }, async (request) =>
    offers.decline(caller(request), request.params.id),
  );
  app.post<Id>("/api/offers/:id/withdraw", { ...user, schema: updated("Withdraw your pending offer (its maker)") }, async (request) =>
    offers.withdraw(caller(request), request.params.id),
  );

  app.post<Id>(
    "/api/offers/:id/counter",
    {
      ...user,
      schema: {
        summary: "Counter a pending offer (the other participant): 201 a new offer message; the old one becomes countered",
        params: uuidParam,
        body: counterBody,
        response: { 200: messageShape, 201: messageShape },
      },
    },
    async (request, reply) => {
      const { message, created } = await offers.counter(caller(request), request.params.id, asObject(request.body));
      return reply.status(created ? 201 : 200).send(message);
    },
  );
}
