// GET /demo: the page is served by the node unless NODE_ENV=production (DEMO=true turns it on
// there); /demo/session hands out demo tokens outside production only.
import { afterAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { startApp, useTestApp } from "./support/app.js";

const t = useTestApp();
const others: FastifyInstance[] = [];
afterAll(async () => {
  await Promise.all(others.map((a) => a.close()));
});

async function app(overrides: Record<string, string>) {
  const started = await startApp(t.env, overrides);
  others.push(started.app);
  return started.app;
}

describe("/demo", () => {
  it("serves the page and its assets, and a demo sign-in that works against the API", async () => {
    const page = await t.app.inject({ method: "GET", url: "/demo" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    const asset = /src="(\/demo\/assets\/[^"]+\.js)"/.exec(page.body)?.[1];
    expect(asset).toBeDefined();
    const script = await t.app.inject({ method: "GET", url: asset! });
    expect(script.statusCode).toBe(200);
    expect(script.headers["content-type"]).toMatch(/javascript/);

    const session = await t.app.inject({ method: "GET", url: "/demo/session?as=seller" });
    expect(session.statusCode).toBe(200);
    const body = session.json();
    expect(body.user).toEqual({ id: "demo-seller", name: "Demo Seller", role: "seller" });
    expect(body.listings.map((l: { id: string }) => l.id)).toEqual(["demo-listing", "demo-listing-2"]);
    const buyer = (await t.app.inject({ method: "GET", url: "/demo/session?as=buyer" })).json();
    const opened = await t.app.inject({
      method: "POST",
      url: "/api/conversations",
      headers: { authorization: `Bearer ${buyer.token}` },
      payload: { listingId: "demo-listing-2" },
    });
    expect(opened.statusCode).toBe(201);
    expect(opened.json().seller.id).toBe("demo-seller");

    const bad = await t.app.inject({ method: "GET", url: "/demo/session?as=admin" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe("validation_failed");
  });

  it("is off in production unless DEMO=true, and never hands out tokens there", async () => {
    const production = await app({ NODE_ENV: "production" });
    expect((await production.inject({ method: "GET", url: "/demo" })).statusCode).toBe(404);
    expect((await production.inject({ method: "GET", url: "/demo/session?as=buyer" })).statusCode).toBe(404);

    const demo = await app({ NODE_ENV: "production", DEMO: "true" });
    expect((await demo.inject({ method: "GET", url: "/demo" })).statusCode).toBe(200);
    const session = await demo.inject({ method: "GET", url: "/demo/session?as=buyer" });
    expect(session.statusCode).toBe(404);
    expect(session.json().error.code).toBe("not_found");

    const off = await app({ DEMO: "false" });
    expect((await off.inject({ method: "GET", url: "/demo" })).statusCode).toBe(404);
  });
});
