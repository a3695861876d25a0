// buildApp(config): the whole service as a Fastify instance with Socket.IO attached. It never
// listens (main.ts does), so tests drive HTTP through inject() and sockets on an ephemeral port.
// This is the composition root: it builds the stores (cluster/, db/, media/), the rules (chat/) on
// top of them, then the transports (http/, realtime/), and stops them in reverse order. Its larger
// parts live in composition/: the Fastify options, the send moderator, the realtime side and the
// background work.
import { readFileSync } from "node:fs";
import Fastify, { type FastifyInstance } from "fastify";
import type { Config } from "./config/config.js";
import { ConfigError } from "./config/config.js";
import { errorKey, RepeatedLog } from "./errors/repeated-log.js";
import { isUnavailableError } from "./errors/unavailable-errors.js";
import { createJwksVerifier, createTokenVerifier, type TokenVerifier } from "./auth/token-verifier.js";
import { createDatabase, type Database } from "./db/database.js";
import { EMBEDDED_POOL_SIZE, startEmbeddedPostgres } from "./db/embedded-postgres.js";
import { ConversationRepository } from "./db/conversation-repository.js";
import { MessageRepository } from "./db/message-repository.js";
import { ParticipantRepository } from "./db/participant-repository.js";
import { UserRepository } from "./db/user-repository.js";
import { ListingRepository } from "./db/listing-repository.js";
import { AttachmentRepository } from "./db/attachment-repository.js";
import { BlockRepository } from "./db/block-repository.js";
import { ReportRepository } from "./db/report-repository.js";
import { BanRepository } from "./db/ban-repository.js";
import { BroadcastRepository } from "./db/broadcast-repository.js";
import { SearchRepository } from "./db/search-repository.js";
import { ModerationFlagRepository } from "./db/moderation-flag-repository.js";
import { ReactionRepository } from "./db/reaction-repository.js";
import { ReactionService } from "./chat/reaction-service.js";
import { supportRoutes } from "./http/routes/support-routes.js";
import { WebhookOutbox } from "./db/webhook-outbox.js";
import { WebhookRepository } from "./db/webhook-repository.js";
import { ConversationService } from "./chat/conversation-service.js";
import { MessageService } from "./chat/message-service.js";
import { SendBatcher } from "./chat/send-batcher.js";
import { MarketplaceService } from "./chat/marketplace-service.js";
import { UserService } from "./chat/user-service.js";
import { TypingService } from "./chat/typing-service.js";
import { AttachmentService } from "./chat/attachment-service.js";
import { ModerationService } from "./chat/moderation-service.js";
import { BroadcastService } from "./chat/broadcast-service.js";
import { SearchService } from "./chat/search-service.js";
import { OfferService } from "./chat/offer-service.js";
import { OfferRepository } from "./db/offer-repository.js";
import { offerRoutes } from "./http/routes/offer-routes.js";
import { Presenter } from "./chat/presenter.js";
import { createClusterBackends } from "./cluster/backends.js";
import type { RedisConnections } from "./cluster/redis.js";
import type { EventBus } from "./cluster/event-bus.js";
import { audienceOf, type ChatEvent } from "./chat/events.js";
import { localRateCheck } from "./cluster/local-rate-limiter.js";
import { createUrlSigner } from "./media/url-signer.js";
import { ContentSniffer } from "./media/content-sniffer.js";
import { ImageProcessor } from "./media/image-processor.js";
import { createStorageBackend, StorageSetupError } from "./media/storage-backend.js";
import { createUploadMetrics } from "./media/upload-metrics.js";
import { MediaPipeline } from "./media/upload-batch.js";
import { registerErrorHandling, registerJsonParser } from "./http/error-handler.js";
import { registerCors } from "./http/cors.js";
import { registerApiDocs } from "./http/docs/api-docs.js";
import { registerRequestIds } from "./http/request-id.js";
import { closeConnectionsOnShutdown } from "./http/close-on-shutdown.js";
import { registerSecurityHeaders } from "./http/security-headers.js";
import { makeGuards } from "./http/authenticate.js";
import { createMetrics, instrumentHttp, type Metrics } from "./http/metrics.js";
import { rateLimitCounter, registerRateLimits } from "./http/rate-limit.js";
import { internalRoutes } from "./http/routes/internal-routes.js";
import { conversationRoutes } from "./http/routes/conversation-routes.js";
import { messageRoutes } from "./http/routes/message-routes.js";
import { presenceRoutes } from "./http/routes/presence-routes.js";
import { uploadRoutes } from "./http/routes/upload-routes.js";
import { attachmentRoutes } from "./http/routes/attachment-routes.js";
import { moderationRoutes } from "./http/routes/moderation-routes.js";
import { adminRoutes } from "./http/routes/admin-routes.js";
import { flagRoutes } from "./http/routes/flag-routes.js";
import { FlagService } from "./chat/flag-service.js";
import { searchRoutes } from "./http/routes/search-routes.js";
import { opsRoutes, type ReadinessCheck } from "./http/routes/ops-routes.js";
import { demoRoutes } from "./http/routes/demo-routes.js";
import { startBackgroundWork } from "./composition/background.js";
import { fastifyOptions } from "./composition/fastify-options.js";
import { buildSendModerator } from "./composition/send-moderator.js";
import { attachRealtime } from "./composition/realtime.js";
import type { ChatServer } from "./realtime/delivery.js";

// dist/app.js and src/app.ts both sit one level below the package root.
const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
const ATTACHMENT_URL_TTL_SECONDS = 15 * 60;
// Signed URLs stay the same for 5 minutes, so browsers can cache attachments by URL.
const ATTACHMENT_URL_STEP_SECONDS = 5 * 60;

export interface ChatContext {
  config: Config;
  db: Database;
  redis: RedisConnections | null;
  bus: EventBus<ChatEvent>;
  io: ChatServer;
  metrics: Metrics;
  conversations: ConversationService;
  messages: MessageService;
  users: UserService;
}

declare module "fastify" {
  interface FastifyInstance {
    chat: ChatContext;
  }
}

export async function buildApp(config: Config): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions(config));
  const log = app.log;
  // Background failures and lost database connections repeat while a store is away: once per
  // interval with a count (errors/repeated-log.ts), and an outage without a stack.
  const repeated = new RepeatedLog({
    summary: (key, count, ms) => log.warn({ repeated: count }, `${key} (repeated ${count} times in the last ${ms / 1000} s)`),
  });
  const logFailure = (err: unknown, what: string) =>
    repeated.report(errorKey(`${what} failed`, err), () =>
      isUnavailableError(err) ? log.warn({ cause: (err as Error).message }, `${what} failed: unavailable`) : log.error({ err }, `${what} failed`),
    );

  // ---- Stores -------------------------------------------------------------------------------
  const verify = buildVerifier(config);
  // Checked first, so a bad UPLOAD_DIR stops start-up before any connection opens.
  // STORAGE=local|s3 (media/storage-backend.ts); UPLOAD_DIR is checked first in both cases.
  const storageBackend = await createStorageBackend(config, (obj, msg) => log.warn(obj, msg)).catch((err: unknown) => {
    throw err instanceof StorageSetupError ? new ConfigError(err.variable, err.message) : err;
  });
  const { storage } = storageBackend;
  // Embedded mode: no DATABASE_URL → PGlite under DATA_DIR, migrated here; the same SQL runs on it.
  const embedded = config.DATABASE_URL
    ? null
    : await startEmbeddedPostgres({
        dataDir: config.DATA_DIR,
        log: (line) => (line.startsWith("engine:") ? log.debug(line) : log.info(line)),
        onFatal: (err) => log.fatal({ err }, "embedded database failed: the node cannot serve until restarted"),
      });
  const db = createDatabase({
    url: config.DATABASE_URL ?? embedded!.url,
    poolSize: embedded ? EMBEDDED_POOL_SIZE : config.DATABASE_POOL_SIZE,
    applicationName: `marketchat:${config.NODE_ID}`,
    onConnectionError: (err) => repeated.report(errorKey("database connection lost", err), () => log.warn({ cause: err.message }, "database connection lost")),
  });
  let busMessages = 0;
  const cluster = createClusterBackends<ChatEvent>(config, log, { onBusMessage: () => void busMessages++ });
  const { redis, bus } = cluster;
  const webhookRepo = config.WEBHOOK_URL ? new WebhookRepository(db.pool) : null;
  const metrics = createMetrics(config.NODE_ID, {
    statementCount: () => db.statementCount(),
    redisCommandCounts: () => redis?.commandCounts() ?? {},
    busMessagesReceived: () => busMessages,
    pool: () => ({ total: db.pool.totalCount, idle: db.pool.idleCount, waiting: db.pool.waitingCount }),
    subscriptionsUp: () => bus.health().ok,
    sendQueue: () => batcher.queued,
    publishBacklog: () => messages.publishBacklog,
    ...(webhookRepo ? { webhookBacklog: () => webhookRepo.backlog() } : {}),
  });

  // ---- Rules --------------------------------------------------------------------------------
  // One signer: the presenter signs attachment URLs with it, the download route verifies them.
  const signer = createUrlSigner(config.URL_SIGNING_SECRET ?? config.JWT_SECRET ?? config.JWT_PUBLIC_KEY!, ATTACHMENT_URL_TTL_SECONDS, {
    stepSeconds: ATTACHMENT_URL_STEP_SECONDS,
  });
  const presenter = new Presenter(signer);
  const publish = (event: ChatEvent) => bus.publish(event, audienceOf(event));
  const conversationRepo = new ConversationRepository(db.pool);
  const participants = new ParticipantRepository(db.pool);
  const canSee = (userId: string, conversationId: string, admin: boolean) => participants.canSee(userId, conversationId, admin);
  const users = new UserService(new UserRepository(db.pool));
  const conversations = new ConversationService(conversationRepo, presenter, config.SUPPORT_NAME);
  // Set once the messages' repository exists (below): a PUT wakes this node's listing-change worker.
  let wakeListingChanges: () => void = () => undefined;
  const marketplace = new MarketplaceService(new UserRepository(db.pool), new ListingRepository(db.pool), () => wakeListingChanges());
  const rateLimitedTotal = rateLimitCounter(metrics.registry);
  const flags = new ModerationFlagRepository(db.pool);
  const moderator = buildSendModerator(config, {
    duplicates: cluster.duplicates,
    flags,
    onSpamRefused: () => rateLimitedTotal.inc({ rule: "spam" }),
    onHookFailure: (err) => log.warn({ err: err.message }, `moderation hook failed (MODERATION_FAIL=${config.MODERATION_FAIL})`),
    onBackgroundError: logFailure,
  });
  // One repository for messages and offers: its local mutex orders this node's sends per conversation.
  const messageRepo = new MessageRepository(db.pool, { preparedStatements: !embedded });
  const checkSendRate = localRateCheck("messages", config.RATE_LIMIT_MESSAGES, () => rateLimitedTotal.inc({ rule: "messages" }));
  const unreadWebhookDelayMs = config.WEBHOOK_URL ? config.WEBHOOK_DELAY_MS : null;
  // Group commit: this node's sends go to PostgreSQL in batches (README, "Sending: group commit").
  const batcher = new SendBatcher({
    write: (inputs) => messageRepo.appendBatch(inputs, unreadWebhookDelayMs),
    maxBatch: config.SEND_BATCH_MAX,
    queueLimit: config.SEND_QUEUE_LIMIT,
    isUnavailable: isUnavailableError,
    onBatch: (size) => metrics.sendBatchSize.observe(size),
  });
  const messages = new MessageService({
    moderator,
    messages: messageRepo,
    batcher,
    publishBacklogLimit: config.PUBLISH_BACKLOG_LIMIT,
    participants,
    conversations: conversationRepo,
    presenter,
    publish,
    deleteStoredFiles: (keys) => storage.delete(keys),
    onBackgroundError: logFailure,
    onStored: () => metrics.messagesSent.inc(),
    // Sends are counted in this node's memory: no Redis command per message (README, "Rate limits").
    checkSendRate,
    ...(config.WEBHOOK_URL ? { unreadWebhookDelayMs: config.WEBHOOK_DELAY_MS } : {}),
  });
  const reactions = new ReactionService({
    messages: messageRepo,
    reactions: new ReactionRepository(),
    publish,
    // Per node, like messages: no Redis command per reaction (README, "Reactions").
    checkRate: localRateCheck("reactions", config.RATE_LIMIT_REACTIONS, () => rateLimitedTotal.inc({ rule: "reactions" })),
    onBackgroundError: logFailure,
  });
  const offers = new OfferService({
    messages: messageRepo,
    offers: new OfferRepository(db.pool, config.WEBHOOK_URL !== undefined, db.background),
    conversations: conversationRepo,
    presenter,
    publish,
    ttlMs: config.OFFER_TTL_MS,
    maxAmountCents: config.OFFER_MAX_AMOUNT_CENTS,
    webhooks: config.WEBHOOK_URL !== undefined,
    ...(config.WEBHOOK_URL ? { unreadWebhookDelayMs: config.WEBHOOK_DELAY_MS } : {}),
    checkSendRate,
    onStored: () => metrics.messagesSent.inc(),
    onBackgroundError: logFailure,
  });
  const typing = new TypingService({
    canTalk: (userId, conversationId, admin) => participants.canTalk(userId, conversationId, admin),
    publish,
    onBackgroundError: (err, what) => log.warn({ err }, `${what} failed`),
  });
  const images = new ImageProcessor({
    maxInputPixels: config.UPLOAD_MAX_INPUT_PIXELS,
    maxDimension: config.UPLOAD_IMAGE_MAX_DIMENSION,
    thumbnailDimension: config.UPLOAD_THUMBNAIL_DIMENSION,
    quality: config.UPLOAD_IMAGE_QUALITY,
    concurrency: config.UPLOAD_IMAGE_CONCURRENCY,
  });
  const uploadMetrics = createUploadMetrics(metrics.registry, images);
  const attachments = new AttachmentService({
    repo: new AttachmentRepository(db.pool),
    storage,
    presenter,
    orphanTtlMs: config.UPLOAD_ORPHAN_TTL_MS,
    onUploaded: (uploads) => uploadMetrics.uploaded(uploads),
    media: new MediaPipeline({
      storage,
      images,
      sniffer: new ContentSniffer(config.UPLOAD_FILE_TYPES),
      stagingDir: `${config.UPLOAD_DIR}/.staging`,
      limits: { maxFileBytes: config.UPLOAD_MAX_FILE_BYTES, maxRequestBytes: config.UPLOAD_MAX_REQUEST_BYTES },
    }),
  });
  // Moderation writes webhook outbox rows only when someone receives webhooks.
  const outbox = new WebhookOutbox(config.WEBHOOK_URL !== undefined);
  const moderation = new ModerationService({
    blocks: new BlockRepository(db.prisma),
    reports: new ReportRepository(db.prisma, outbox),
    messages: messageRepo,
    bans: new BanRepository(db.prisma, outbox),
    presenter,
    publish,
    forgetUser: (userId) => users.forget(userId),
    onBackgroundError: logFailure,
  });
  const broadcasts = new BroadcastService({ broadcasts: new BroadcastRepository(db.prisma), publish, onBackgroundError: logFailure });
  const search = new SearchService({ repository: new SearchRepository(db.pool), presenter, canSee });

  // ---- Realtime -----------------------------------------------------------------------------
  const { io, presence, typingRelay } = attachRealtime(app.server, {
    config,
    db,
    log,
    bus,
    presenceStore: cluster.presenceStore,
    publish,
    verify,
    users,
    conversations,
    messages,
    reactions,
    typing,
    metrics,
    onRefused: (rule) => rateLimitedTotal.inc({ rule }),
    onBackgroundError: logFailure,
  });

  app.decorate("chat", { config, db, redis, bus, io, metrics, conversations, messages, users });

  // ---- HTTP ---------------------------------------------------------------------------------
  // First: it collects every route registered after it into /openapi.json.
  await registerApiDocs(app, { version: PACKAGE_VERSION });
  registerRequestIds(app);
  closeConnectionsOnShutdown(app);
  await registerCors(app, config.CORS_ORIGINS);
  registerSecurityHeaders(app);
  registerErrorHandling(app);
  registerJsonParser(app);
  instrumentHttp(app, metrics.registry);
  const guards = makeGuards(verify, users);
  // Before the routes, whose per-user checks it attaches as they register.
  registerRateLimits(app, {
    limiter: cluster.rateLimiter,
    anonymous: config.RATE_LIMIT_ANONYMOUS,
    counter: rateLimitedTotal,
    routes: [
      { name: "conversations", what: "conversations opened", method: "POST", url: "/api/conversations", limit: config.RATE_LIMIT_CONVERSATIONS },
      { name: "uploads", what: "uploads", method: "POST", url: "/api/uploads", limit: config.RATE_LIMIT_UPLOADS },
      { name: "reports", what: "reports", method: "POST", url: "/api/reports", limit: config.RATE_LIMIT_REPORTS },
      { name: "blocks", what: "blocks", method: "POST", url: "/api/blocks", limit: config.RATE_LIMIT_BLOCKS },
      { name: "search", what: "searches", method: "GET", url: "/api/search", limit: config.RATE_LIMIT_SEARCH },
    ],
  });
  const checks: ReadinessCheck[] = [{ name: "database", check: () => db.ping() }];
  if (cluster.ping) checks.push({ name: "redis", check: cluster.ping });
  // Not ready while this node would miss events: its subscriber connections down or their
  // subscriptions not all restored after a reconnect.
  checks.push({
    name: "event subscriptions",
    check: async () => {
      const health = bus.health();
      if (!health.ok) throw new Error(health.reason);
    },
  });
  opsRoutes(app, { checks, registry: metrics.registry, metricsToken: config.METRICS_TOKEN });
  internalRoutes(app, { guards, marketplace });
  conversationRoutes(app, { guards, conversations, messages });
  messageRoutes(app, { guards, messages, reactions });
  supportRoutes(app, { guards, conversations });
  presenceRoutes(app, { guards, presence });
  uploadRoutes(app, { guards, attachments, maxFileBytes: config.UPLOAD_MAX_FILE_BYTES, maxRequestBytes: config.UPLOAD_MAX_REQUEST_BYTES, maxInFlightPerUser: config.UPLOADS_IN_FLIGHT_PER_USER });
  attachmentRoutes(app, { guards, attachments, signer });
  moderationRoutes(app, { guards, moderation });
  adminRoutes(app, { guards, moderation, broadcasts });
  flagRoutes(app, { guards, flags: new FlagService({ repository: flags, presenter }) });
  searchRoutes(app, { guards, search });
  offerRoutes(app, { guards, offers, maxAmountCents: config.OFFER_MAX_AMOUNT_CENTS });
  await demoRoutes(app, { config });

  // ---- Background work ----------------------------------------------------------------------
  presence.start();
  const background = startBackgroundWork({
    config,
    db,
    log,
    presenter,
    publish,
    presenceStore: cluster.presenceStore,
    conversations: conversationRepo,
    messages: messageRepo,
    attachments,
    offers,
    onError: logFailure,
    onMessagesStored: (count) => metrics.messagesSent.inc(count),
    onUploadsSwept: (count) => uploadMetrics.swept(count),
    onWebhookAttempt: (outcome) => metrics.webhookAttempts.inc({ outcome }),
  });
  wakeListingChanges = () => background.wakeListingChanges();

  // ---- Shutdown -----------------------------------------------------------------------------
  // First the sockets (an open WebSocket would keep the HTTP server from closing); then Fastify
  // drains in-flight requests; then the background work, while the database and Redis are still
  // there (webhook attempts in flight are released for another node, presence leaves the cluster
  // and writes pending last-seen times); then the connections underneath.
  app.addHook("preClose", async () => {
    io.local.disconnectSockets(true);
    io.engine.close();
    await Promise.allSettled([...io._nsps.values()].map((nsp) => nsp.adapter.close()));
  });
  app.addHook("onClose", async () => {
    await background.stop();
    typingRelay.close();
    await presence.close();
    await messages.drain();
    await cluster.close();
    await db.close();
    await embedded?.close();
    storageBackend.close();
  });
  return app;
}

function buildVerifier(config: Config): TokenVerifier {
  if (config.JWT_JWKS_URL) return createJwksVerifier({ ...config, JWT_JWKS_URL: config.JWT_JWKS_URL });
  try {
    return createTokenVerifier(config);
  } catch (err) {
    throw new ConfigError("JWT_PUBLIC_KEY", (err as Error).message);
  }
}
