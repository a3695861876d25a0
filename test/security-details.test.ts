// Security details of issue 17, probed from outside: bad characters that used to reach
// PostgreSQL (500 with a stack), a lone surrogate that merged two users, blocks that created users
// for any id, an attachment URL without credentials answered as if authenticated, and unknown
// socket events left waiting for their ack.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auth, emitAck, pushUser, useTestApp } from "./support/app.js";
import { serviceToken, token } from "./support/tokens.js";
import { uniqueName } from "./support/env.js";

const fixture = useTestApp({ RATE_LIMIT_BLOCKS: "3/1h" });
const get = (url: string, headers: Record<string, string> = {}) => fixture.app.inject({ method: "GET", url, headers });
let db: pg.Pool;
beforeAll(() => {
  db = new pg.Pool({ connectionString: fixture.env.databaseUrl, max: 1 });
});
afterAll(async () => {
  await db?.end();
});
const usersNamed = async (id: string) => (await db.query("SELECT id FROM users WHERE id = $1", [id])).rowCount;

describe("tokens", () => {
  it.each([
    ["a NUL in sub", () => token("a\u0000b")],
    ["a NUL in name", () => token(uniqueName("nul-name"), { name: "x\u0000y" })],
    ["a lone surrogate in sub", () => token("ghost\ud800")],
    ["a lone surrogate in name", () => token(uniqueName("sur-name"), { name: "x\udc00" })],
    ["whitespace in sub (user ids refuse it everywhere else)", () => token("two words")],
    ["a control character in sub", () => token("tab\tbed")],
  ])("%s: 401 unauthorized, nothing stored", async (_, make) => {
    const res = await get("/api/conversations", auth(make()));
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe("unauthorized");
  });

  it("two subs that differ only by a lone surrogate never become one user", async () => {
    const base = uniqueName("sur");
    expect((await get("/api/conversations", auth(token(base)))).statusCode).toBe(200);
    expect((await get("/api/conversations", auth(token(`${base}\ud800`)))).statusCode).toBe(401);
    expect(await usersNamed(`${base}\ufffd`)).toBe(0);
  });
});

describe("fields", () => {
  it("a NUL in q of search or of the conversation list is 400 validation_failed, not 500", async () => {
    for (const url of ["/api/search?q=ab%00cd", "/api/conversations?q=ab%00cd"]) {
      const res = await get(url, auth(token("q-user")));
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code).toBe("validation_failed");
    }
  });

  it("a NUL in an internal user's avatarUrl is 400, and ids with lone surrogates are refused", async () => {
    // (Tabs and newlines are dropped by URL parsing itself; a NUL is kept, and PostgreSQL refuses it.)
    for (const avatarUrl of ["https://img.example/a\u0000b.png", "https://img.example/\u0000"]) {
      const res = await fixture.app.inject({ method: "PUT", url: "/api/internal/users/av-1", headers: auth(serviceToken()), payload: { name: "A", avatarUrl } });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe("validation_failed");
    }
    const surrogate = await fixture.app.inject({ method: "PUT", url: `/api/internal/users/${encodeURIComponent("x")}%ED%A0%80`, headers: auth(serviceToken()), payload: { name: "A" } });
    expect(surrogate.statusCode).toBeGreaterThanOrEqual(400);
    expect(surrogate.statusCode).toBeLessThan(500);
  });
});

describe("blocks", () => {
  it("an unknown user is not_found and no user row is made; blocks are rate-limited", async () => {
    const me = uniqueName("blocker");
    const nobody = `nobody-${randomUUID()}`;
    const unknown = await fixture.app.inject({ method: "POST", url: "/api/blocks", headers: auth(token(me)), payload: { userId: nobody } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe("not_found");
    expect(await usersNamed(nobody)).toBe(0);
    // RATE_LIMIT_BLOCKS=3/1h here: the 404 above counted, two more pass, the next is refused.
    const targets = [uniqueName("t"), uniqueName("t"), uniqueName("t")];
    for (const t of targets) await pushUser(fixture.app, t);
    const answers = [];
    for (const t of targets) {
      answers.push((await fixture.app.inject({ method: "POST", url: "/api/blocks", headers: auth(token(me)), payload: { userId: t } })).statusCode);
    }
    expect(answers).toEqual([201, 201, 429]);
  });
});

describe("attachments", () => {
  it("neither a valid signature nor a token is 401 unauthorized", async () => {
    for (const url of [`/api/attachments/${randomUUID()}`, `/api/attachments/${randomUUID()}/thumbnail`, `/api/attachments/${randomUUID()}?expires=1&sig=x`]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(401);
      expect(res.json().error.code).toBe("unauthorized");
    }
  });
});

describe("sockets", () => {
  it("an unknown event with an ack is answered not_found; known events still work", async () => {
    const s = await fixture.socket(token(uniqueName("ev")));
    expect(await emitAck(s, "nope:nothing", { x: 1 })).toEqual({ ok: false, error: { code: "not_found", message: "Unknown event" } });
    // A known event answers for itself (its own not_found), not as an unknown one.
    const join = await emitAck<{ ok: false; error: { code: string; message: string } }>(s, "conversation:join", { conversationId: randomUUID() });
    expect(join.error.code).toBe("not_found");
    expect(join.error.message).not.toBe("Unknown event");
    // Without an ack there is nothing to answer; the socket stays usable.
    (s as unknown as { emit: (event: string, payload: unknown) => void }).emit("nope:silent", {});
    expect(await emitAck(s, "nope:again", {})).toMatchObject({ ok: false, error: { code: "not_found" } });
  });
});
