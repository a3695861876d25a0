// The Socket.IO side of a node: the server with its handshake limits, the user channels on the
// event bus, presence, the typing relay, the per-socket handlers, and delivery of every bus event
// to this node's sockets. Part of the composition root (app.ts).
import type { Server as HttpServer } from "node:http";
import type { FastifyBaseLogger } from "fastify";
import type { Config } from "../config/config.js";
import type { TokenVerifier } from "../auth/token-verifier.js";
import type { ChatEvent } from "../chat/events.js";
import type { ConversationService } from "../chat/conversation-service.js";
import type { MessageService } from "../chat/message-service.js";
import { PresenceService } from "../chat/presence-service.js";
import type { ReactionService } from "../chat/reaction-service.js";
import type { TypingService } from "../chat/typing-service.js";
import type { UserService } from "../chat/user-service.js";
import type { EventBus } from "../cluster/event-bus.js";
import type { PresenceStore } from "../cluster/presence-store.js";
import { SUPPORT_USER_ID } from "../contract/shapes.js";
import type { Database } from "../db/database.js";
import { PresenceRepository } from "../db/presence-repository.js";
import type { Metrics } from "../http/metrics.js";
import { ConnectionLimits } from "../realtime/connection-limits.js";
import { deliver, type ChatServer } from "../realtime/delivery.js";
import { conversationHandlers } from "../realtime/handlers/conversation-handlers.js";
import { messageHandlers } from "../realtime/handlers/message-handlers.js";
import { presenceHandlers } from "../realtime/handlers/presence-handlers.js";
import { typingHandlers } from "../realtime/handlers/typing-handlers.js";
import { SeqOrderer } from "../realtime/seq-orderer.js";
import { SocketChannels } from "../realtime/socket-channels.js";
import { createSocketServer, SocketHandlers } from "../realtime/socket-server.js";
import { TypingRelay } from "../realtime/typing-relay.js";

/** A previous message older than this was surely published already: nothing to wait for. */
const ORDER_RECENT_MS = 10_000;
/** (user, conversation) pairs whose delivered seq a node remembers. */
const ORDER_MAX_ENTRIES = 200_000;

/** Largest socket message accepted; bigger ones close the connection (engine.io). */
const SOCKET_MAX_PAYLOAD_BYTES = 2 * 1024 * 1024;

export interface RealtimeDeps {
  config: Config;
  db: Database;
  log: FastifyBaseLogger;
  bus: EventBus<ChatEvent>;
  presenceStore: PresenceStore;
  publish: (event: ChatEvent) => Promise<void>;
  verify: TokenVerifier;
  users: UserService;
  conversations: ConversationService;
  messages: MessageService;
  reactions: ReactionService;
  typing: TypingService;
  metrics: Metrics;
  onRefused: (rule: string) => void;
  onBackgroundError: (err: unknown, what: string) => void;
}

export interface Realtime {
  io: ChatServer;
  presence: PresenceService;
  typingRelay: TypingRelay;
}

export function attachRealtime(server: HttpServer, deps: RealtimeDeps): Realtime {
  const { config, bus, log, users, publish } = deps;
  // An admin's sockets also receive the support team's events: every admin acts as the team.
  const channels = new SocketChannels(
    bus,
    (p) => (p.role === "admin" ? [p.userId, SUPPORT_USER_ID] : [p.userId]),
    (user, here) => (here ? order.joined(user) : order.left(user)),
  );
  // Messages reach this node's sockets in seq order whichever node published them (README, "Ordering").
  const order = new SeqOrderer({
    holdMs: config.DELIVERY_GAP_WAIT_MS,
    recentMs: ORDER_RECENT_MS,
    maxEntries: ORDER_MAX_ENTRIES,
    deliver: (event, target) => deliver(io, channels, event, target, (userId) => users.forget(userId)),
    fetch: (conversationId, after, before, since) => deps.messages.missing(conversationId, after, before, since),
    onError: deps.onBackgroundError,
    onHeld: () => deps.metrics.deliveryOrder.inc({ outcome: "held" }),
    onFetched: (n) => deps.metrics.deliveryOrder.inc({ outcome: "fetched" }, n),
    onDropped: () => deps.metrics.deliveryOrder.inc({ outcome: "dropped" }),
  });
  // One table of handlers for every socket (socket-server.ts): a connection costs no closures.
  const handlers = new SocketHandlers(log, (event, seconds, ok) =>
    deps.metrics.socketAckSeconds.observe({ event, outcome: ok ? "ok" : "error" }, seconds),
  );
  const io = createSocketServer(server, {
    handlers,
    corsOrigins: config.CORS_ORIGINS,
    maxPayloadBytes: SOCKET_MAX_PAYLOAD_BYTES,
    channels,
    verify: deps.verify,
    users,
    limits: new ConnectionLimits({
      handshakesPerIp: config.SOCKET_HANDSHAKES_PER_IP,
      socketsPerUser: config.SOCKETS_PER_USER,
      socketsPerIp: config.SOCKETS_PER_IP,
      eventsPerSocket: config.SOCKET_EVENTS_PER_SOCKET,
      trustProxy: config.TRUST_PROXY,
      onRefused: (rule) => deps.onRefused(`socket_${rule}`),
    }),
    log,
  });
  const presence = new PresenceService({
    store: deps.presenceStore,
    repository: new PresenceRepository(deps.db.pool),
    graceMs: config.PRESENCE_GRACE_MS,
    announce: (change) =>
      void publish({ type: "presence.changed", ...change }).catch((err) => deps.onBackgroundError(err, "publish presence.changed")),
    onBackgroundError: deps.onBackgroundError,
    onSweepHealth: (ok, err) => (ok ? log.info("presence sweep recovered") : log.error({ err }, "presence sweep failing")),
  });
  const typingRelay = new TypingRelay(io, config.TYPING_TIMEOUT_MS);
  handlers.onConnect(() => deps.metrics.sockets.inc()).onDisconnect(() => deps.metrics.sockets.dec());
  conversationHandlers(handlers, { conversations: deps.conversations });
  presenceHandlers(handlers, { presence });
  typingHandlers(handlers, { typing: deps.typing, timeoutMs: config.TYPING_TIMEOUT_MS });
  messageHandlers(handlers, { messages: deps.messages, reactions: deps.reactions });
  bus.subscribe((event, target) => {
    presence.onChatEvent(event);
    typingRelay.onEvent(event, target);
    if (target === null) deliver(io, channels, event, target, (userId) => users.forget(userId));
    else order.accept(event, target);
    // user.banned is handled by deliver() (it also disconnects); an unban only drops the cache.
    if (event.type === "user.unbanned") users.forget(event.userId);
  });
  return { io, presence, typingRelay };
}
