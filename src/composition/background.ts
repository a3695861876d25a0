// The background work every node runs beside its requests (README, "Running several nodes"): the
// webhook outbox, listing changes, and the periodic sweeps. Each is safe on many nodes at once
// (SKIP LOCKED claims or leases), so no node is special. Part of the composition root (app.ts).
import type { FastifyBaseLogger } from "fastify";
import type { Config } from "../config/config.js";
import type { ChatEvent } from "../chat/events.js";
import { ListingChangeWorker } from "../chat/listing-change-worker.js";
import type { AttachmentService } from "../chat/attachment-service.js";
import type { OfferService } from "../chat/offer-service.js";
import type { Presenter } from "../chat/presenter.js";
import type { PresenceStore } from "../cluster/presence-store.js";
import type { ConversationRepository } from "../db/conversation-repository.js";
import type { Database } from "../db/database.js";
import { ListingChangeRepository } from "../db/listing-change-repository.js";
import type { MessageRepository } from "../db/message-repository.js";
import { ResponseTimeRepository } from "../db/response-time-repository.js";
import { WebhookRepository } from "../db/webhook-repository.js";
import { startOrphanSweeper } from "../media/orphan-sweeper.js";
import { WebhookWorker } from "../webhooks/webhook-worker.js";

export interface BackgroundDeps {
  config: Config;
  db: Database;
  log: FastifyBaseLogger;
  presenter: Presenter;
  publish: (event: ChatEvent) => Promise<void>;
  presenceStore: PresenceStore;
  conversations: ConversationRepository;
  messages: MessageRepository;
  attachments: AttachmentService;
  offers: OfferService;
  onError: (err: unknown, what: string) => void;
  onMessagesStored: (count: number) => void;
  onUploadsSwept: (count: number) => void;
  onWebhookAttempt: (outcome: string) => void;
}

export interface BackgroundWork {
  /** A listing PUT wakes this node's listing-change worker (no wait for its next poll). */
  wakeListingChanges(): void;
  /** Stops everything; attempts and changes in flight are given back for another node. */
  stop(): Promise<void>;
}

export function startBackgroundWork(deps: BackgroundDeps): BackgroundWork {
  const { config, db, log } = deps;
  // Every node sends the webhook outbox, only when someone receives it.
  const webhookWorker = config.WEBHOOK_URL
    ? new WebhookWorker(
        {
          url: config.WEBHOOK_URL,
          secret: config.WEBHOOK_SECRET!,
          timeoutMs: config.WEBHOOK_TIMEOUT_MS,
          maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
          retryBaseMs: config.WEBHOOK_RETRY_BASE_MS,
          retryMaxMs: config.WEBHOOK_RETRY_MAX_MS,
          pollIntervalMs: config.WEBHOOK_POLL_INTERVAL_MS,
          batchSize: config.WEBHOOK_BATCH_SIZE,
          retentionMs: config.WEBHOOK_RETENTION_MS,
        },
        {
          repository: new WebhookRepository(db.pool),
          conversations: deps.conversations,
          presenter: deps.presenter,
          presence: (userIds) => deps.presenceStore.status(userIds),
          log,
          onAttempt: deps.onWebhookAttempt,
        },
      )
    : null;
  webhookWorker?.start();
  // Every node writes listing changes into conversations and resumes those a dead node left.
  const listingChanges = new ListingChangeWorker(
    {
      batchSize: config.LISTING_CHANGE_BATCH_SIZE,
      leaseMs: config.LISTING_CHANGE_LEASE_MS,
      pollIntervalMs: config.LISTING_CHANGE_POLL_INTERVAL_MS,
      batchPauseMs: config.LISTING_CHANGE_BATCH_PAUSE_MS,
    },
    {
      repository: new ListingChangeRepository(db.background),
      acquireLocal: (conversationId) => deps.messages.acquireLocal(conversationId),
      presenter: deps.presenter,
      publish: deps.publish,
      onError: deps.onError,
      onStored: deps.onMessagesStored,
    },
  );
  listingChanges.start();
  const responseTimeRepo = new ResponseTimeRepository(db.background);
  const responseSampleSweeper = startOrphanSweeper({
    intervalMs: config.RESPONSE_SAMPLE_SWEEP_INTERVAL_MS,
    sweep: () => responseTimeRepo.sweep(),
    onError: (err) => log.error({ err }, "response sample sweep failed"),
  });
  const orphanSweeper = startOrphanSweeper({
    intervalMs: config.UPLOAD_SWEEP_INTERVAL_MS,
    sweep: () => deps.attachments.sweepOrphans(),
    onSwept: (count) => {
      deps.onUploadsSwept(count);
      log.info({ count }, "swept uploads never sent");
    },
    onError: (err) => log.error({ err }, "upload sweep failed"),
  });
  // Every node sweeps for expired offers; SKIP LOCKED splits them, so each expires once.
  const offerSweeper = startOrphanSweeper({
    intervalMs: config.OFFER_SWEEP_INTERVAL_MS,
    sweep: () => deps.offers.sweepExpired(),
    onSwept: (count) => log.info({ count }, "expired offers"),
    onError: (err) => log.error({ err }, "offer expiry sweep failed"),
  });

  return {
    wakeListingChanges: () => listingChanges.wake(),
    async stop() {
      await webhookWorker?.stop();
      await orphanSweeper.stop();
      await offerSweeper.stop();
      await listingChanges.stop();
      await responseSampleSweeper.stop();
    },
  };
}
