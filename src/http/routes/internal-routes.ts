// Marketplace sync (service role): idempotent upserts of users and listings.
import type { FastifyInstance } from "fastify";
import type { MarketplaceService } from "../../chat/marketplace-service.js";
import { idParam, listingInput, userInput } from "../../chat/schemas.js";
import { listingShape, userShape } from "../docs/response-schemas.js";
import type { Guards } from "../authenticate.js";

export function internalRoutes(app: FastifyInstance, deps: { guards: Guards; marketplace: MarketplaceService }): void {
  const { guards, marketplace } = deps;

  app.put<{ Params: { id: string } }>("/api/internal/users/:id", { preHandler: guards.service, schema: { params: idParam, body: userInput, response: { 200: userShape, 201: userShape } } }, async (request, reply) => {
    const { user, created } = await marketplace.putUser(request.params.id, request.body);
    return reply.status(created ? 201 : 200).send(user);
  });

  app.put<{ Params: { id: string } }>("/api/internal/listings/:id", { preHandler: guards.service, schema: { params: idParam, body: listingInput, response: { 200: listingShape, 201: listingShape } } }, async (request, reply) => {
    const { listing, created } = await marketplace.putListing(request.params.id, request.body);
    return reply.status(created ? 201 : 200).send(listing);
  });
}
