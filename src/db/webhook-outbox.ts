// The webhook outbox (API.md, "Offline delivery: webhooks"). An event the marketplace hears about
// by webhook is first a row of webhook_deliveries, inserted in the same transaction as the change
// it announces: the event goes out if and only if the change committed, and a node that dies
// right after the commit loses nothing. A delivery worker on any node sends the rows.
//
// A row holds the envelope's `type` and `data` (column `payload`); the worker adds `id` (the row
// id, which is also X-Chat-Delivery) and `createdAt` (the row's created_at):
//   { id, type, createdAt, data: payload }
import type pg from "pg";
import type { Prisma } from "./generated/client.js";

export type WebhookType = "message.unread" | "report.created" | "user.banned" | "user.unbanned";
// offer.created, offer.accepted, offer.declined, offer.withdrawn, offer.countered and offer.expired
// are written by the offer statements themselves (db/offer-sql.ts), not through insertWebhook().

export interface WebhookEvent {
  type: WebhookType;
  /** The envelope's `data`; stored as JSON. */
  data: unknown;
  /** The first attempt waits this long (message.unread waits WEBHOOK_DELAY_MS). @default 0 */
  delayMs?: number;
}

/** Where the row is written: the pg client (or pool) or Prisma transaction of the change itself. */
export type OutboxExecutor = pg.Pool | pg.ClientBase | Prisma.TransactionClient;

/** due_at from the database clock, like created_at, so every node agrees on when a row is due. */
const INSERT_SQL = `INSERT INTO webhook_deliveries (type, payload, due_at)
  VALUES ($1, $2::jsonb, now() + $3::int * interval '1 millisecond')`;

/** Inserts one outbox row through `db`; pass the transaction of the change it announces. */
export async function insertWebhook(db: OutboxExecutor, event: WebhookEvent): Promise<void> {
  // Stringified by hand: pg would turn a top-level array into a PostgreSQL array literal.
  const payload = JSON.stringify(event.data);
  const delayMs = event.delayMs ?? 0;
  if ("$executeRaw" in db) {
    await db.$executeRaw`INSERT INTO webhook_deliveries (type, payload, due_at)
      VALUES (${event.type}, ${payload}::jsonb, now() + ${delayMs}::int * interval '1 millisecond')`;
    return;
  }
  await db.query(INSERT_SQL, [event.type, payload, delayMs]);
}

/** The outbox as configured: without WEBHOOK_URL nothing is written (nobody would receive it). */
export class WebhookOutbox {
  constructor(readonly enabled: boolean) {}

  async enqueue(db: OutboxExecutor, event: WebhookEvent): Promise<void> {
    if (this.enabled) await insertWebhook(db, event);
  }
}
