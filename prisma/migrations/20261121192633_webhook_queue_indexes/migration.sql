-- The webhook outbox's work queues. Written by hand: partial indexes cannot be expressed in
-- Prisma's schema language, and its diff ignores them.

-- Rows still to deliver, by due time: every node's delivery worker polls this each second, and it
-- stays small however many delivered and failed rows the table keeps for inspection.
CREATE INDEX "webhook_deliveries_pending_idx" ON "webhook_deliveries" ("due_at")
  WHERE "delivered_at" IS NULL AND "failed_at" IS NULL;

-- Delivered rows are removed after WEBHOOK_RETENTION_MS; this finds them without a table scan.
CREATE INDEX "webhook_deliveries_delivered_idx" ON "webhook_deliveries" ("delivered_at")
  WHERE "delivered_at" IS NOT NULL;
