// buildApp(config): the whole service as a Fastify instance with Socket.IO attached. It never
// listens (main.ts does), so tests drive HTTP through inject() and sockets on an ephemeral port.
import Fastify, { type FastifyInstance } from "fastify";
import { createAdapter } from "@socket.io/redis-adapter";
import type { Config } from "./config/config.js";
import { ConfigError } from "./config/config.js";
import { createTokenVerifier, type TokenVerifier } from "./auth/token-verifier.js";
import { createDatabase, type Database } from "./db/database.js";
import { ConversationRepository } from "./db/conversation-repository.js";
import { MessageRepository } from "./db/message-repository.js";
import { ParticipantRepository } from "./db/participant-repository.js";
import { UserRepository } from "./db/user-repository.js";
import { ListingRepository } from "./db/listing-repository.js";
import { ConversationService } from "./chat/conversation-service.js";
import { MessageService } from "./chat/message-service.js";
import { MarketplaceService } from "./chat/marketplace-service.js";
import { UserService } from "./chat/user-service.js";
import { Presenter } from "./chat/presenter.js";
import { connectRedis, type RedisConnections } from "./cluster/redis.js";
import type { EventBus } from "./cluster/event-bus.js";
import { LocalEventBus } from "./cluster/local-event-bus.js";
import { RedisEventBus } from "./cluster/redis-event-bus.js";
import { createUrlSigner } from "./media/url-signer.js";
import { registerErrorHandling } from "./http/error-handler.js";
import { makeGuards } from "./http/authenticate.js";
import { createMetrics, instrumentHttp, type Metrics } from "./http/metrics.js";
import { internalRoutes } from "./http/routes/internal-routes.js";
import { conversationRoutes } from "./http/routes/conversation-routes.js";
import { messageRoutes } from "./http/routes/message-routes.js";
import { opsRoutes, type ReadinessCheck } from "./http/routes/ops-routes.js";
import { createSocketServer } from "./realtime/socket-server.js";
import { deliver, type ChatServer } from "./realtime/delivery.js";
import { conversationHandlers } from "./realtime/handlers/conversation-handlers.js";
import { messageHandlers } from "./realtime/handlers/message-handlers.js";

const SOCKET_MAX_PAYLOAD_BYTES = 2 * 1024 * 1024;
const ATTACHMENT_URL_TTL_SECONDS = 15 * 60;

export interface ChatContext {
  config: Config;
  db: Database;
  redis: RedisConnections | null;
  bus: EventBus;
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
  const app = Fastify({
    logger: {
      level: config.LOG_LEVEL,
      base: { node: config.NODE_ID },
      // Query strings can hold search text and URL signatures: log paths only.
      serializers: {
        req: (req: { method: string; url: string; id: string }) => ({ method: req.method, url: req.url.split("?")[0], id: req.id }),
      },
    },
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    return503OnClosing: true,
    forceCloseConnections: "idle",
  });
  const log = app.log;

  const verify = buildVerifier(config);
  const db = createDatabase({
    url: config.DATABASE_URL!,
    poolSize: config.DATABASE_POOL_SIZE,
    applicationName: `marketchat:${config.NODE_ID}`,
    onIdleError: (err) => log.warn({ err }, "idle database connection failed"),
  });
  const redis = config.REDIS_URL ? connectRedis(config.REDIS_URL, (err) => log.warn({ err: err.message }, "redis error")) : null;
  const bus: EventBus = redis
    ? new RedisEventBus(redis.eventsPub, redis.eventsSub, `${config.REDIS_PREFIX}:events`, (err) =>
        log.error({ err }, "bad event on the bus"),
      )
    : new LocalEventBus();

  const metrics = createMetrics(config.NODE_ID, () => db.statementCount(), () => redis?.commandCounts() ?? {});
  const presenter = new Presenter(createUrlSigner(config.JWT_SECRET ?? config.JWT_PUBLIC_KEY!, ATTACHMENT_URL_TTL_SECONDS));
  const conversationRepo = new ConversationRepository(db.pool);
  const users = new UserService(new UserRepository(db.pool));
  const conversations = new ConversationService(conversationRepo, presenter);
  const marketplace = new MarketplaceService(new UserRepository(db.pool), new ListingRepository(db.pool));
  const messages = new MessageService({
    onStored: () => metrics.messagesSent.inc(),
    messages: new MessageRepository(db.pool),
    participants: new ParticipantRepository(db.pool),
    conversations: conversationRepo,
    presenter,
    publish: (event) => bus.publish(event),
    deleteStoredFiles: async () => undefined,
    onBackgroundError: (err, what) => log.error({ err }, `${what} failed`),
  });

  const io = createSocketServer(app.server, {
    corsOrigins: config.CORS_ORIGINS,
    maxPayloadBytes: SOCKET_MAX_PAYLOAD_BYTES,
    ...(redis ? { adapter: createAdapter(redis.adapterPub, redis.adapterSub, { key: `${config.REDIS_PREFIX}:sio` }) } : {}),
    verify,
    users,
    log,
  });
  io.on("connection", (socket) => {
    metrics.sockets.inc();
    socket.on("disconnect", () => metrics.sockets.dec());
    conversationHandlers(socket, { conversations, log });
    messageHandlers(socket, { messages, log });
  });
  bus.subscribe((event) => deliver(io, event, (userId) => users.forget(userId)));

  app.decorate("chat", { config, db, redis, bus, io, metrics, conversations, messages, users });

  registerErrorHandling(app);
  instrumentHttp(app, metrics.registry);
  const guards = makeGuards(verify, users);
  const checks: ReadinessCheck[] = [{ name: "database", check: () => db.ping() }];
  if (redis) checks.push({ name: "redis", check: () => redis.command.ping() });
  opsRoutes(app, { checks, registry: metrics.registry, metricsToken: config.METRICS_TOKEN });
  internalRoutes(app, { guards, marketplace });
  conversationRoutes(app, { guards, conversations, messages });
  messageRoutes(app, { guards, messages });

  // Shutdown: first the sockets (an open WebSocket would keep the HTTP server from closing),
  // then Fastify drains in-flight requests, then the connections underneath.
  app.addHook("preClose", async () => {
    io.local.disconnectSockets(true);
    io.engine.close();
    await Promise.allSettled([...io._nsps.values()].map((nsp) => nsp.adapter.close()));
  });
  app.addHook("onClose", async () => {
    await bus.close();
    await redis?.close();
    await db.close();
  });
  return app;
}

function buildVerifier(config: Config): TokenVerifier {
  try {
    return createTokenVerifier(config);
  } catch (err) {
    throw new ConfigError("JWT_PUBLIC_KEY", (err as Error).message);
  }
}
