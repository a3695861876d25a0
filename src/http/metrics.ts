// Prometheus metrics of one node: process metrics, an HTTP latency histogram and the chat
// counters. One registry per app so several apps in one test process do not collide.
import type { FastifyInstance } from "fastify";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface Metrics {
  registry: Registry;
  sockets: Gauge;
  messagesSent: Counter;
}

export function createMetrics(
  nodeId: string,
  statementCount: () => number,
  redisCommandCounts: () => Record<string, Record<string, number>>,
  busMessagesReceived: () => number = () => 0,
): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ node: nodeId });
  collectDefaultMetrics({ register: registry });
  new Counter({
    name: "marketchat_db_statements_total",
    help: "SQL statements this node sent to PostgreSQL (hot-path budgets are measured with it)",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(statementCount());
    },
  });
  new Counter({
    name: "marketchat_redis_commands_total",
    help: "Redis commands this node sent, by connection and command",
    labelNames: ["connection", "command"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [connection, commands] of Object.entries(redisCommandCounts())) {
        for (const [command, n] of Object.entries(commands)) this.inc({ connection, command }, n);
      }
    },
  });
  new Counter({
    name: "marketchat_bus_messages_received_total",
    help: "Event copies this node received from Redis (per-user channels and the every-node channel)",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(busMessagesReceived());
    },
  });
  return {
    registry,
    sockets: new Gauge({ name: "marketchat_sockets_connected", help: "Socket.IO connections on this node", registers: [registry] }),
    messagesSent: new Counter({ name: "marketchat_messages_sent_total", help: "Messages stored by this node", registers: [registry] }),
  };
}

export function instrumentHttp(app: FastifyInstance, registry: Registry): void {
  const histogram = new Histogram({
    name: "marketchat_http_request_duration_seconds",
    help: "HTTP request latency",
    labelNames: ["method", "route", "status_code"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  app.addHook("onResponse", async (request, reply) => {
    histogram.observe(
      { method: request.method, route: request.routeOptions.url ?? "unmatched", status_code: reply.statusCode },
      reply.elapsedTime / 1000,
    );
  });
}
