// Generated garbage at every socket event and HTTP body: the answer is always the contract's
// shape, the socket stays connected, the node keeps serving, and nothing is stored by a refusal.
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { ERRORS } from "../src/errors/errors.js";
import { auth, connectSocket, createTestEnv, makeConversation, startApp, type ClientSocket, type TestEnv } from "./support/app.js";
import { serviceToken } from "./support/tokens.js";

let env: TestEnv;
let app: FastifyInstance;
let url: string;
let c: Awaited<ReturnType<typeof makeConversation>>;
let socket: ClientSocket;

beforeAll(async () => {
  env = await createTestEnv();
  ({ app, url } = await startApp(env));
  c = await makeConversation(app);
  await app.inject({ method: "POST", url: `/api/conversations/${c.conversationId}/messages`, headers: auth(c.buyerToken), payload: { clientId: randomUUID(), content: "first" } });
  socket = await connectSocket(url, c.buyerToken);
});
afterAll(async () => {
  socket?.close();
  await app?.close();
  await env?.close();
});

const codes = Object.keys(ERRORS);
const messageCount = async () => Number((await app.chat.db.pool.query("SELECT count(*) FROM messages")).rows[0].count);

/** Payloads that look almost right as well as pure garbage. */
const payload = () =>
  fc.oneof(
    fc.anything(),
    fc.constantFrom(null, undefined, 0, -1, 1e308, "", [], {}, "x".repeat(1_000_000), { name: "\u0000", title: "\u0000", sellerId: "s" }),
    fc.record(
      {
        conversationId: fc.oneof(fc.constant(c.conversationId), fc.uuid(), fc.string(), fc.integer(), fc.constant(null)),
        messageId: fc.oneof(fc.uuid(), fc.string(), fc.array(fc.string())),
        clientId: fc.oneof(fc.uuid(), fc.string(), fc.constant(null)),
        content: fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.constant(""), fc.constant("a\u0000b"), fc.integer(), fc.constant("y".repeat(4001)), fc.object()),
        attachmentIds: fc.oneof(fc.array(fc.uuid(), { maxLength: 12 }), fc.string(), fc.array(fc.anything())),
        replyToId: fc.oneof(fc.uuid(), fc.string(), fc.constant(null)),
        seq: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)),
      },
      { requiredKeys: [] },
    ),
  );

const events = ["conversation:join", "conversation:leave", "message:send", "message:edit", "message:delete", "message:read", "messages:read", "typing:start", "typing:stop"];

describe("socket events under generated payloads", () => {
  it("every ack is in the contract's shape and the socket stays connected", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...events), payload(), fc.boolean(), async (event, body, withAck) => {
        const before = await messageCount();
        // typing:* take no ack in the contract: they are only ever fired and forgotten here.
        if (withAck && !event.startsWith("typing:")) {
          const ack = (await socket.timeout(5_000).emitWithAck(event as "message:send", body as never)) as unknown as {
            ok: boolean;
            error?: { code: string; message: string };
          };
          if (ack !== undefined) {
            expect(typeof ack.ok).toBe("boolean");
            if (!ack.ok) {
              expect(codes).toContain(ack.error!.code);
              expect(typeof ack.error!.message).toBe("string");
              expect(await messageCount()).toBe(before);
            }
          }
        } else {
          (socket.emit as (e: string, p: unknown) => void)(event, body);
        }
        expect(socket.connected).toBe(true);
      }),
      { numRuns: 150 },
    );
    // Still serving after all that.
    const ping = await socket.timeout(5_000).emitWithAck("conversation:join", { conversationId: c.conversationId });
    expect(ping).toMatchObject({ ok: true });
  });
});

describe("HTTP bodies under generated payloads", () => {
  const routes = () => [
    { method: "POST" as const, url: "/api/conversations", jwt: c.buyerToken },
    { method: "POST" as const, url: `/api/conversations/${c.conversationId}/messages`, jwt: c.buyerToken },
    { method: "POST" as const, url: `/api/conversations/${c.conversationId}/read`, jwt: c.sellerToken },
    { method: "PUT" as const, url: "/api/internal/users/fuzz-user", jwt: serviceToken() },
    { method: "PUT" as const, url: "/api/internal/listings/fuzz-listing", jwt: serviceToken() },
  ];

  it("answers 2xx or the contract's error, never 500", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 4 }), payload(), async (i, body) => {
        const route = routes()[i]!;
        const before = await messageCount();
        const res = await app.inject({
          method: route.method,
          url: route.url,
          headers: { ...auth(route.jwt), "content-type": "application/json" },
          payload: JSON.stringify(body ?? null),
        });
        expect(res.statusCode).toBeLessThan(500);
        if (res.statusCode >= 400) {
          expect(codes).toContain(res.json().error.code);
          expect(await messageCount()).toBe(before);
        }
      }),
      { numRuns: 150 },
    );
  });
});
