// Prometheus metrics of one node: process metrics, an HTTP latency histogram and the chat
// counters. One registry per app so several apps in one test process do not collide.
import type { FastifyInstance } from "fastify";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface Metrics {
  registry: Registry;
  sockets: Gauge;
  messagesSent: Counter;
  /** Webhook attempts by outcome (delivered, retry, failed, released). */
  webhookAttempts: Counter<"outcome">;
  /** Time from a socket event's arrival to its ack, by event and outcome. */
  socketAckSeconds: Histogram<"event" | "outcome">;
  /** Sends per batch written (group commit, chat/send-batcher.ts). */
  sendBatchSize: Histogram;
  /** Delivery ordering (realtime/seq-orderer.ts): messages held for a gap, fetched to fill one, repeats dropped. */
  deliveryOrder: Counter<"outcome">;
}

/** What the node reads its gauges and counters from at each scrape. */
export interface MetricSources {
  statementCount: () => number;
  redisCommandCounts: () => Record<string, Record<string, number>>;
  busMessagesReceived: () => number;
  /** The request pool's connections: in use + idle = total; waiting = checkouts queued for one. */
  pool: () => { total: number; idle: number; waiting: number };
  /** Whether the event subscriptions are live (subscriber connections up, channels restored). */
  subscriptionsUp: () => boolean;
  /** Sends waiting for this node's next batch, and published messages waiting for Redis. */
  sendQueue?: () => number;
  publishBacklog?: () => number;
  /** Webhook rows not yet delivered or given up; absent when webhooks are off. */
  webhookBacklog?: () => Promise<number>;
}

export function createMetrics(nodeId: string, sources: MetricSources): Metrics {
  const { statementCount, redisCommandCounts, busMessagesReceived } = sources;
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
  new Gauge({
    name: "marketchat_pg_pool_connections",
    help: "Connections of the request pool to PostgreSQL, by state (in_use, idle) and checkouts waiting for one (waiting)",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      const { total, idle, waiting } = sources.pool();
      this.set({ state: "in_use" }, total - idle);
      this.set({ state: "idle" }, idle);
      this.set({ state: "waiting" }, waiting);
    },
  });
  new Gauge({
    name: "marketchat_event_subscriptions_up",
    help: "1 while this node's event subscriptions are live (subscriber connections up, channels restored), else 0",
    registers: [registry],
    collect() {
      this.set(sources.subscriptionsUp() ? 1 : 0);
    },
  });
  new Gauge({
    name: "marketchat_send_queue",
    help: "Sends waiting for this node's next batch write (batch) and stored messages waiting for Redis to take their publish (publish)",
    labelNames: ["queue"],
    registers: [registry],
    collect() {
      this.set({ queue: "batch" }, sources.sendQueue?.() ?? 0);
      this.set({ queue: "publish" }, sources.publishBacklog?.() ?? 0);
    },
  });
  const webhookBacklog = sources.webhookBacklog;
  if (webhookBacklog) {
    new Gauge({
      name: "marketchat_webhook_backlog",
      help: "Webhook deliveries neither delivered nor given up (the outbox's backlog, shared by all nodes)",
      registers: [registry],
      async collect() {
        // A scrape must not fail because the database is away: the last value stays.
        await webhookBacklog().then(
          (n) => this.set(n),
          () => undefined,
        );
      },
    });
  }
  return {
    registry,
    webhookAttempts: new Counter({
      name: "marketchat_webhook_attempts_total",
      help: "Webhook delivery attempts by this node, by outcome (delivered, retry, failed: given up, released: stopped midway)",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    socketAckSeconds: new Histogram({
      name: "marketchat_socket_ack_seconds",
      help: "Time from a socket event's arrival to its ack, by event and outcome (ok, error)",
      labelNames: ["event", "outcome"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    sendBatchSize: new Histogram({
      name: "marketchat_send_batch_size",
      help: "Sends written per batch statement (group commit)",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    }),
    deliveryOrder: zeroed(
      new Counter({
        name: "marketchat_delivery_order_total",
        help: "Delivery in seq order: messages held for a missing seq (held), fetched to fill a gap (fetched), repeats dropped (dropped)",
        labelNames: ["outcome"],
        registers: [registry],
      }),
      ["held", "fetched", "dropped"],
    ),
    sockets: new Gauge({ name: "marketchat_sockets_connected", help: "Socket.IO connections on this node", registers: [registry] }),
    messagesSent: new Counter({ name: "marketchat_messages_sent_total", help: "Messages stored by this node", registers: [registry] }),
  };
}

/** Exposes every outcome from the start (0 rather than absent until the first one happens). */
function zeroed(counter: Counter<"outcome">, outcomes: string[]): Counter<"outcome"> {
  for (const outcome of outcomes) counter.inc({ outcome }, 0);
  return counter;
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
