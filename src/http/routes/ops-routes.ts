// Liveness, readiness and Prometheus metrics. No token, except /metrics when METRICS_TOKEN is set.
import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { AppError } from "../../errors/errors.js";
import { bearerToken } from "../../auth/token-verifier.js";
import { z } from "zod";
import { errorShape } from "../docs/response-schemas.js";
import { withTimeout } from "../../util/with-timeout.js";

export interface ReadinessCheck {
  name: string;
  check: () => Promise<unknown>;
}

const READINESS_TIMEOUT_MS = 2_000;

export function opsRoutes(
  app: FastifyInstance,
  deps: { checks: ReadinessCheck[]; registry: Registry; metricsToken: string | undefined },
): void {
  app.get("/healthz", { schema: { security: [], response: { 200: z.object({ status: z.literal("ok") }) } } }, async () => ({ status: "ok" }));

  const ready = z.object({ status: z.literal("ready"), checks: z.record(z.string(), z.literal("ok")) });
  app.get("/readyz", { schema: { security: [], response: { 200: ready, 503: errorShape } } }, async () => {
    const results = await Promise.all(
      deps.checks.map(async ({ name, check }) => {
        try {
          await withTimeout(check(), READINESS_TIMEOUT_MS);
          return { name, ok: true };
        } catch {
          return { name, ok: false };
        }
      }),
    );
    const down = results.filter((r) => !r.ok).map((r) => r.name);
    if (down.length > 0) throw new AppError("unavailable", `Not ready: ${down.join(", ")} not answering`);
    return { status: "ready", checks: Object.fromEntries(results.map((r) => [r.name, "ok"])) };
  });

  const metrics = { description: "Prometheus text format", content: { "text/plain": { schema: { type: "string" } } } };
  app.get("/metrics", { schema: { description: "Needs `Authorization: Bearer <METRICS_TOKEN>` when METRICS_TOKEN is set", response: { 200: metrics } } }, async (request, reply) => {
    if (deps.metricsToken && !sameSecret(bearerToken(request.headers.authorization), deps.metricsToken)) {
      throw new AppError("unauthorized");
    }
    return reply.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
}

function sameSecret(given: string | undefined, expected: string): boolean {
  const a = Buffer.from(given ?? "");
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

