// The HTTP side of identity: the bearer token is verified by the same function the Socket.IO
// handshake uses, and the route says which roles it admits.
import type { FastifyReply, FastifyRequest } from "fastify";
import { bearerToken, type Principal, type Role, type TokenVerifier } from "../auth/token-verifier.js";
import type { UserService } from "../chat/user-service.js";
import { forbidden } from "../errors/errors.js";

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** preHandler factory: authenticates the request and admits only the given roles. */
export function makeGuards(verify: TokenVerifier, users: UserService) {
  const guard =
    (roles: readonly Role[]): Guard =>
    async (request) => {
      const principal = await verify(bearerToken(request.headers.authorization));
      if (!roles.includes(principal.role)) {
        throw forbidden(principal.role === "service" ? "Service tokens may only call internal endpoints" : undefined);
      }
      await users.admit(principal);
      request.principal = principal;
    };
  return {
    /** End users (and admins acting as users). */
    user: guard(["user", "admin"]),
    /** The marketplace's backend. */
    service: guard(["service"]),
    admin: guard(["admin"]),
    adminOrService: guard(["admin", "service"]),
  };
}

export type Guards = ReturnType<typeof makeGuards>;

/** The principal of a request that passed a guard. */
export function caller(request: FastifyRequest): Principal {
  return request.principal!;
}
