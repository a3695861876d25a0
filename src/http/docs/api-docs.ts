// GET /openapi.json (OpenAPI 3.1) and GET /docs (Swagger UI, served from the package: no CDN).
//
// One source: a route declares the same zod schemas its handler parses, in Fastify's `schema`
// option, and a response schema per status (response-schemas.ts):
//
//   app.post("/api/things", { ...user, schema: { body: thingInput, response: { 201: thingShape } } }, handler)
//
// Those schemas are documentation here: Fastify neither validates requests with them (handlers
// parse with them after authentication, so a bad body from a stranger is still 401, and path ids
// are not_found rather than validation_failed) nor filters responses through them (responses
// are JSON.stringify'd as returned, so a field added to a shape is never dropped on the way out).
// @fastify/swagger collects every route as it is registered (an onRoute hook), so a new route
// appears in the document by itself; test/api-docs.test.ts fails for a route without schemas.
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance, FastifySchema } from "fastify";
import { z } from "zod";
import { clientEventDocs, serverEventDocs } from "./socket-event-docs.js";
import { shapeRegistry } from "./response-schemas.js";

const COMPONENTS = "#/components/schemas/";
const STATUS_TEXT: Record<string, string> = { 200: "OK", 201: "Created", 204: "No content", 206: "Partial content", 304: "Not modified" };

type JsonSchema = Record<string, unknown>;

const isZod = (s: unknown): s is z.ZodType => typeof s === "object" && s !== null && "_zod" in s;

/** A zod schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect), named shapes as $refs. */
function toJsonSchema(schema: unknown, io: "input" | "output"): JsonSchema {
  if (!isZod(schema)) return schema as JsonSchema;
  // Refinements are the handler's business; transforms are documented by their input type.
  const json = z.toJSONSchema(schema, { target: "draft-2020-12", io, metadata: shapeRegistry, unrepresentable: "any" }) as JsonSchema;
  // Named shapes come out as $defs (the only $defs: reused schemas are inlined); they live in
  // components.schemas instead.
  delete json.$schema;
  delete json.$defs;
  return pointRefsAtComponents(json) as JsonSchema;
}

function pointRefsAtComponents(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pointRefsAtComponents);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      k === "$ref" && typeof v === "string" ? v.replace(/^#\/\$defs\//, COMPONENTS) : pointRefsAtComponents(v),
    ]),
  );
}

/** Every named shape, for components.schemas. */
function componentSchemas(): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(shapeRegistry, {
    target: "draft-2020-12",
    io: "output",
    unrepresentable: "any",
    uri: (id) => `${COMPONENTS}${id}`,
  }) as { schemas: Record<string, JsonSchema> };
  for (const s of Object.values(schemas)) {
    delete s.$schema;
    delete s.$id;
  }
  return schemas;
}

/** Path parameters named in the URL (":id") that the route did not describe. */
function pathParams(url: string): JsonSchema | undefined {
  const names = [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
  if (names.length === 0) return undefined;
  return { type: "object", properties: Object.fromEntries(names.map((n) => [n, { type: "string" }])), required: names };
}

function transformSchema(schema: FastifySchema | undefined, url: string): FastifySchema {
  const s = (schema ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = { ...s };
  for (const part of ["body", "querystring", "params", "headers"] as const) {
    if (s[part] !== undefined) out[part] = toJsonSchema(s[part], "input");
  }
  out.params ??= pathParams(url);
  if (out.params === undefined) delete out.params;
  if (s.response !== undefined) {
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(s.response as Record<string, unknown>)) {
      const json = toJsonSchema(response, "output");
      // A described (or plain JSON) response keeps its description; the rest say their status.
      responses[status] = { description: STATUS_TEXT[status] ?? "Response", ...json };
    }
    // Every route fails in the contract's shape.
    responses["4XX"] ??= { description: "A client error (API.md, Errors)", $ref: `${COMPONENTS}Error` };
    out.response = responses;
  }
  return out as FastifySchema;
}

export interface ApiDocsOptions {
  version: string;
}

/** Call before registering routes: the collector must see each one. */
export async function registerApiDocs(app: FastifyInstance, options: ApiDocsOptions): Promise<void> {
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "marketchat",
        version: options.version,
        description:
          "Realtime chat for marketplaces. Every request carries `Authorization: Bearer <jwt>`; every error is " +
          "`{ error: { code, message, requestId } }`. The Socket.IO events (path `/socket.io`, `auth: { token }`) are " +
          "listed under `x-socket-events`: client events with their payload and ack, server events with their payload.",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } },
      security: [{ bearer: [] }],
    },
    transform: ({ schema, url }) => ({ schema: transformSchema(schema, url) as never, url }),
    transformObject: (documentObject) => {
      const document = (documentObject as { openapiObject: Record<string, unknown> & { components?: Record<string, unknown> } }).openapiObject;
      document.components = { ...document.components, schemas: { ...(document.components?.schemas as object), ...componentSchemas() } };
      document["x-socket-events"] = socketEvents();
      return document as never;
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs", uiConfig: { deepLinking: true } });
  app.get("/openapi.json", { schema: { summary: "This document (OpenAPI 3.1)", response: { 200: { description: "OpenAPI 3.1", type: "object" } } } }, async () =>
    app.swagger(),
  );
}

function socketEvents() {
  const schema = (s: z.ZodType | null, io: "input" | "output") => (s === null ? null : toJsonSchema(s, io));
  return {
    path: "/socket.io",
    auth: "io(url, { auth: { token } }); a bad token fails the connection with connect_error message \"unauthorized\"",
    ack: "{ ok: true, data } or { ok: false, error: { code, message } }",
    clientToServer: Object.fromEntries(
      Object.entries(clientEventDocs).map(([event, d]) => [event, { summary: d.summary, payload: schema(d.payload, "input"), ack: schema(d.ack, "output") }]),
    ),
    serverToClient: Object.fromEntries(
      Object.entries(serverEventDocs).map(([event, d]) => [event, { summary: d.summary, payload: schema(d.payload, "output") }]),
    ),
  };
}
