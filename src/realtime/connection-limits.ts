// Limits on what one client can make a node hold or do (README, "Connection limits"), counted in
// this node's memory: a flood reaches one node at a time behind the load balancer, and a counter
// shared through Redis would cost a command per handshake and per event.
//   - handshakes per client address (token bucket): a refused handshake also closes the
//     connection, so a flood does not keep thousands of TCP connections open;
//   - sockets per user and per client address (open at once);
//   - events per socket (token bucket): one socket cannot make the node run thousands of lookups
//     (2,000 conversation:join with random ids ran 2,000 queries in 1.6 s).
import type { IncomingHttpHeaders } from "node:http";
import type { Socket } from "socket.io";
import { LocalRateLimiter } from "../cluster/local-rate-limiter.js";
import type { RateLimit } from "../config/rate-limit-spec.js";
import { AppError } from "../errors/errors.js";

export interface ConnectionLimitsOptions {
  handshakesPerIp: RateLimit | null;
  /** 0: no limit. */
  socketsPerUser: number;
  /** 0: no limit. */
  socketsPerIp: number;
  eventsPerSocket: RateLimit | null;
  /** Behind a proxy (TRUST_PROXY): the client is the first X-Forwarded-For address. */
  trustProxy: boolean;
  onRefused?: (rule: "handshakes" | "sockets" | "events") => void;
}

export class ConnectionLimits {
  private readonly handshakes = new LocalRateLimiter();
  private readonly events = new LocalRateLimiter();
  private readonly perUser = new Map<string, number>();
  private readonly perIp = new Map<string, number>();

  constructor(private readonly options: ConnectionLimitsOptions) {}

  /** The client's address, as the HTTP side sees it (Fastify's trustProxy takes the first hop too). */
  clientAddress(handshake: { address: string; headers: IncomingHttpHeaders }): string {
    if (this.options.trustProxy) {
      const forwarded = handshake.headers["x-forwarded-for"];
      const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim();
      if (first) return first;
    }
    return handshake.address;
  }

  /** Before the token is even looked at: throws rate_limited when the address handshakes too often. */
  checkHandshake(address: string): void {
    if (!this.options.handshakesPerIp) return;
    const decision = this.handshakes.take(address, this.options.handshakesPerIp);
    if (decision.allowed) return;
    this.options.onRefused?.("handshakes");
    throw new AppError("rate_limited", "Too many connection attempts from this address", decision.retryAfterMs);
  }

  /**
   * Counts the socket against its user and address until its connection closes; throws
   * rate_limited (counting nothing) when either already holds the most allowed.
   */
  admit(socket: Socket, userId: string, address: string): void {
    const { socketsPerUser, socketsPerIp } = this.options;
    if ((socketsPerUser > 0 && (this.perUser.get(userId) ?? 0) >= socketsPerUser) || (socketsPerIp > 0 && (this.perIp.get(address) ?? 0) >= socketsPerIp)) {
      this.options.onRefused?.("sockets");
      throw new AppError("rate_limited", "Too many open connections: close one first");
    }
    add(this.perUser, userId, 1);
    add(this.perIp, address, 1);
    // on, not once (emitted once; once() adds a wrapper per socket).
    socket.conn.on("close", () => {
      add(this.perUser, userId, -1);
      add(this.perIp, address, -1);
    });
  }

  /** Every incoming event spends from the socket's budget; over it, the event is answered rate_limited (if it has an ack) and dropped. */
  budget(socket: Socket): void {
    const limit = this.options.eventsPerSocket;
    if (!limit) return;
    socket.use((packet, next) => {
      const decision = this.events.take(socket.id, limit);
      if (decision.allowed) return next();
      this.options.onRefused?.("events");
      const ack = packet.at(-1);
      if (typeof ack === "function") {
        ack({ ok: false, error: new AppError("rate_limited", "Too many events on this connection, slow down", decision.retryAfterMs).toBody() });
      }
    });
  }

  /** Open sockets counted (for tests and metrics). */
  counts(): { users: number; addresses: number } {
    return { users: this.perUser.size, addresses: this.perIp.size };
  }
}

function add(map: Map<string, number>, key: string, delta: number): void {
  const n = (map.get(key) ?? 0) + delta;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}
