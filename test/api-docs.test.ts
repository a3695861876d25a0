// GET /openapi.json and /docs (API.md additions, "HTTP for browsers and tools"). The document is
// generated from the routes' own schemas: this file fails for a route registered without them.
// To document a new route, add `schema: { body?, querystring?, params?, response: { <status>:
// <zod schema> } }` to its options (README, "API documentation").
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { useTestApp } from "./support/app.js";

const t = useTestApp();

/** Hidden routes may only be these: the docs page's and the demo page's own assets (/demo* is the static files' wildcard) and CORS preflights. */
const HIDDEN_ALLOWED = [/^\/docs(\/|$)/, /^\/demo([/*]|$)/, /^\*$/];

/** Every route Fastify serves, read from its own route tree: [method, path]. */
function registeredRoutes(tree: string): Array<[string, string]> {
  const routes: Array<[string, string]> = [];
  const stack: string[] = [];
  for (const line of tree.split("\n")) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    stack.push(match[2]!);
    const methods = match[3]?.split(", ") ?? [];
    for (const method of methods) routes.push([method, stack.join("")]);
  }
  return routes;
}

const openapiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

describe("GET /openapi.json", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const res = await t.app.inject({ method: "GET", url: "/openapi.json" });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe("3.1.0");
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("documents every registered route, each with its responses declared", async () => {
    const doc = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json();
    const routes = registeredRoutes(t.app.printRoutes({ commonPrefix: false }));
    expect(routes.length).toBeGreaterThan(20);
    const missing: string[] = [];
    const undeclared: string[] = [];
    for (const [method, path] of routes) {
      // HEAD comes with GET; OPTIONS is the CORS preflight.
      if (method === "HEAD" || method === "OPTIONS") continue;
      if (HIDDEN_ALLOWED.some((re) => re.test(path))) continue;
      const operation = doc.paths[openapiPath(path)]?.[method.toLowerCase()];
      if (!operation) {
        missing.push(`${method} ${path}`);
        continue;
      }
      // @fastify/swagger says "Default Response" for a route that declared no response schema.
      const responses = Object.entries(operation.responses ?? {}) as Array<[string, { description: string }]>;
      const success = responses.filter(([status]) => /^[23]/.test(status));
      if (success.length === 0 || success.some(([, r]) => r.description === "Default Response")) undeclared.push(`${method} ${path}`);
    }
    expect(missing, "routes missing from /openapi.json").toEqual([]);
    expect(undeclared, "routes without response schemas").toEqual([]);
  });

  it("documents request schemas from the same zod schemas the handlers parse", async () => {
    const doc = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json();
    const send = doc.paths["/api/conversations/{id}/messages"].post;
    const body = send.requestBody.content["application/json"].schema;
    expect(body.required).toEqual(["clientId"]);
    expect(body.properties.clientId.format).toBe("uuid");
    expect(send.responses["201"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Message" });
    const list = doc.paths["/api/conversations"].get.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`);
    expect(list).toEqual(expect.arrayContaining(["query:limit", "query:cursor", "query:role", "query:q"]));
    expect(doc.components.schemas.Conversation.required).toEqual(expect.arrayContaining(["id", "listing", "buyer", "seller", "lastSeq", "unreadCount"]));
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toContain("validation_failed");
  });

  it("lists the Socket.IO events of the contract's event maps with payloads and acks", async () => {
    const doc = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json();
    const events = doc["x-socket-events"];
    expect(Object.keys(events.clientToServer)).toEqual(
      expect.arrayContaining(["conversation:join", "message:send", "messages:read", "typing:start"]),
    );
    expect(events.clientToServer["message:send"].payload.required).toEqual(expect.arrayContaining(["conversationId", "clientId"]));
    expect(events.clientToServer["message:send"].ack).toEqual({ $ref: "#/components/schemas/Message" });
    expect(events.serverToClient["message:new"].payload).toEqual({ $ref: "#/components/schemas/Message" });
    expect(Object.keys(events.serverToClient)).toEqual(expect.arrayContaining(["user:offline", "notification", "broadcast"]));
  });
});

describe("GET /docs", () => {
  it("serves a page that loads the document from this server, with its assets (no CDN)", async () => {
    const page = await fetch(`${t.url}/docs`, { redirect: "follow" });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("swagger-ui");
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)[a-z0-9.-]+\/[^"']*\.js/i);
    const scripts = [...html.matchAll(/src="([^"]+\.js)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      const asset = await fetch(new URL(src, page.url));
      expect(asset.status, src).toBe(200);
      // Read to the end: an unread body keeps its connection busy and the server from closing.
      expect((await asset.arrayBuffer()).byteLength, src).toBeGreaterThan(0);
    }
  });
});
