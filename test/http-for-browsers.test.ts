// HTTP for browsers and tools (API.md additions): CORS on every route, errors included; the
// request id; security headers; Node's own parser errors in the contract's error shape.
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { auth, makeConversation, useTestApp } from "./support/app.js";
import { token } from "./support/tokens.js";

const ALLOWED = "https://shop.example";
const t = useTestApp({ CORS_ORIGINS: `${ALLOWED}, https://admin.shop.example` });

/** Writes raw bytes on a new connection and resolves with everything read until it closes. */
function raw(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    let got = "";
    socket.setEncoding("utf8");
    socket.on("data", (d) => (got += d));
    socket.on("close", () => resolve(got));
    socket.on("error", reject);
  });
}

describe("CORS", () => {
  it("answers a preflight from an allowed origin with 204, the origin itself and the Authorization header", async () => {
    const res = await t.app.inject({
      method: "OPTIONS",
      url: "/api/conversations",
      headers: { origin: ALLOWED, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers["access-control-allow-origin"]).toBe(ALLOWED);
    expect(String(res.headers["access-control-allow-headers"]).toLowerCase()).toContain("authorization");
    expect(String(res.headers["access-control-allow-methods"])).toContain("POST");
  });

  it("gives a disallowed origin no CORS headers, on preflights and real requests", async () => {
    for (const method of ["OPTIONS", "GET"] as const) {
      const res = await t.app.inject({
        method,
        url: "/api/conversations",
        headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
      });
      expect(res.headers["access-control-allow-origin"]).toBeUndefined();
    }
  });

  it("carries the origin on successes and on errors (401, 404) of real requests", async () => {
    const c = await makeConversation(t.app);
    const ok = await t.app.inject({ method: "GET", url: "/api/conversations", headers: { ...auth(c.buyerToken), origin: ALLOWED } });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers["access-control-allow-origin"]).toBe(ALLOWED);
    expect(String(ok.headers["access-control-expose-headers"]).toLowerCase()).toContain("x-request-id");

    const unauthorized = await t.app.inject({ method: "GET", url: "/api/conversations", headers: { origin: ALLOWED } });
    expect(unauthorized.statusCode).toBe(401);
    expect(unauthorized.headers["access-control-allow-origin"]).toBe(ALLOWED);

    const missing = await t.app.inject({ method: "GET", url: "/api/nothing-here", headers: { ...auth(c.buyerToken), origin: ALLOWED } });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers["access-control-allow-origin"]).toBe(ALLOWED);
    expect(missing.json().error.code).toBe("not_found");
  });

  it("works from a real HTTP client over the network too (fetch with an Origin header)", async () => {
    const res = await fetch(`${t.url}/api/unread`, { method: "OPTIONS", headers: { origin: ALLOWED, "access-control-request-method": "GET", "access-control-request-headers": "authorization" } });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
  });
});

describe("X-Request-Id", () => {
  it("keeps a well-formed id from the request and echoes it, in errors too", async () => {
    const id = "req-1.abc_DEF";
    const res = await t.app.inject({ method: "GET", url: "/api/conversations", headers: { "x-request-id": id } });
    expect(res.statusCode).toBe(401);
    expect(res.headers["x-request-id"]).toBe(id);
    expect(res.json().error).toMatchObject({ code: "unauthorized", requestId: id });
  });

  it.each([["has spaces"], ["a".repeat(129)], ["semi;colon"], ["ünïcode"]])("replaces an unsafe id (%s) with a generated one", async (given) => {
    const res = await t.app.inject({ method: "GET", url: "/api/nowhere", headers: { "x-request-id": given } });
    const echoed = String(res.headers["x-request-id"]);
    expect(echoed).not.toBe(given);
    expect(echoed).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
    expect(res.json().error.requestId).toBe(echoed);
  });

  it("generates a different id for every request without one", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const res = await t.app.inject({ method: "GET", url: "/healthz" });
      ids.add(String(res.headers["x-request-id"]));
    }
    expect(ids.size).toBe(20);
  });

  it("puts the id in validation errors and errors raised by routes", async () => {
    const c = await makeConversation(t.app);
    const res = await t.app.inject({
      method: "POST",
      url: `/api/conversations/${c.conversationId}/messages`,
      headers: { ...auth(c.buyerToken), "x-request-id": "send-42" },
      payload: { clientId: "not-a-uuid", content: "hi" },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: "validation_failed", requestId: "send-42" });
  });
});

describe("security headers", () => {
  it("marks API answers nosniff, no-store and no-referrer, errors included", async () => {
    const ok = await t.app.inject({ method: "GET", url: "/api/unread", headers: auth(token("headers-user")) });
    const err = await t.app.inject({ method: "GET", url: "/api/unread" });
    for (const res of [ok, err]) {
      expect(res.headers["x-content-type-options"]).toBe("nosniff");
      expect(res.headers["cache-control"]).toBe("no-store");
      expect(res.headers["referrer-policy"]).toBe("no-referrer");
    }
  });
});

describe("Node's parser errors in the contract's shape", () => {
  it("answers oversized headers with 431 and a JSON error body", async () => {
    const got = await raw(t.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    expect(got).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(got.slice(got.indexOf("\r\n\r\n") + 4))).toEqual({
      error: { code: "payload_too_large", message: expect.any(String) },
    });
  });

  it("answers chunked plus Content-Length with 400 validation_failed", async () => {
    const got = await raw(t.url, "POST /api/conversations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n");
    expect(got).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(got.slice(got.indexOf("\r\n\r\n") + 4)).error.code).toBe("validation_failed");
  });

  it("answers garbage with 400 validation_failed", async () => {
    const got = await raw(t.url, "HELLO THERE\r\n\r\n");
    expect(got).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(got.slice(got.indexOf("\r\n\r\n") + 4)).error.code).toBe("validation_failed");
  });
});
