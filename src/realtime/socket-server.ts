// The Socket.IO server: handshake authentication, the user's channels (socket-channels.ts) and
// rooms, and the handlers. Every live event comes from the event bus (delivery.ts); Socket.IO's
// own adapter stays the in-memory one: rooms are this node's, nothing crosses nodes through it.
import type { Server as HttpServer } from "node:http";
import { Server, type Socket } from "socket.io";
import type { TokenVerifier } from "../auth/token-verifier.js";
import type { UserService } from "../chat/user-service.js";
import { AppError, forbidden } from "../errors/errors.js";
import { toAppError } from "../errors/to-app-error.js";
import { errorKey, RepeatedLog } from "../errors/repeated-log.js";
import type { Ack, AckFn, ClientToServerEvents } from "../contract/socket-events.js";
import type { ChatServer, ChatSocket } from "./socket-types.js";
import type { SocketChannels } from "./socket-channels.js";
import type { ConnectionLimits } from "./connection-limits.js";

export type { ChatSocket };

export interface SocketServerOptions {
  corsOrigins: readonly string[];
  /** Largest socket message accepted; bigger ones close the connection (engine.io). */
  maxPayloadBytes: number;
  channels: SocketChannels;
  verify: TokenVerifier;
  users: UserService;
  /** Handshakes, sockets and events per client (connection-limits.ts). */
  limits?: ConnectionLimits;
  /** The client events' handlers, attached to every socket once it is connected. */
  handlers?: SocketHandlers;
  log: { warn: (obj: object, msg: string) => void; error: (obj: object, msg: string) => void };
}

export function createSocketServer(server: HttpServer, options: SocketServerOptions): ChatServer {
  const io: ChatServer = new Server(server, {
    path: "/socket.io",
    serveClient: false,
    maxHttpBufferSize: options.maxPayloadBytes,
    // A connection that has not joined the namespace (sent a valid handshake) by then is closed:
    // clients send theirs at once, a flood of refused ones should not hold sockets for 45 s.
    connectTimeout: 10_000,
    cors: { origin: options.corsOrigins.length > 0 ? [...options.corsOrigins] : false, credentials: true },
  });

  io.use(async (socket, next) => {
    const address = options.limits?.clientAddress(socket.handshake) ?? socket.handshake.address;
    try {
      options.limits?.checkHandshake(address);
      const principal = await options.verify((socket.handshake.auth as { token?: unknown } | undefined)?.token as string);
      if (principal.role === "service") throw forbidden("Service tokens cannot open sockets");
      await options.users.admit(principal);
      options.limits?.admit(socket, principal.userId, address);
      socket.data.principal = principal;
      await options.channels.attach(socket);
      next();
    } catch (err) {
      const appError = toAppError(err as Error);
      if (appError.code === "internal" || (appError.code === "unavailable" && !(err instanceof AppError))) {
        logFailure(options.log, "socket handshake failed", appError.code, err);
      }
      // The contract's connect_error messages: "unauthorized", "forbidden" (banned), else the code.
      const error = new Error(appError.code) as Error & { data?: unknown };
      error.data = appError.toBody();
      next(error);
      // Refused for flooding: close the connection once the refusal is sent, so the client does
      // not keep it open. Socket.IO writes the refusal on the next tick (and drops it if the
      // connection is closing by then); close() after that waits for the write buffer. Other
      // refusals leave it to the client (socket.io-client would reconnect in a loop otherwise).
      if (appError.code === "rate_limited") setImmediate(() => socket.conn.close());
    }
  });

  // An event nobody handles that carries an ack is answered not_found, so a client (or a probe)
  // is not left waiting for its timeout. onAny runs before the event's handlers, which are all
  // attached on "connection", before any event can arrive. One function for every socket (this).
  const handlers = options.handlers;
  const answerUnknown = function (this: Socket, event: string, ...args: unknown[]): void {
    const ack = args.at(-1);
    if (typeof ack !== "function" || handlers?.handles(event) || this.listeners(event).length > 0) return;
    (ack as (r: unknown) => void)({ ok: false, error: { code: "not_found", message: "Unknown event" } });
  };
  io.on("connection", (socket) => {
    options.channels.enterRooms(socket);
    // The budget first: a middleware, it runs before the handlers' dispatch (SocketHandlers).
    if (options.limits) options.limits.budget(socket as unknown as Socket);
    socket.onAny(answerUnknown);
    handlers?.attach(socket);
  });
  return io;
}

/** The ack data of a client event, from the contract's event map (events without an ack answer `{}`). */
export type AckData<E extends keyof ClientToServerEvents> =
  Parameters<ClientToServerEvents[E]> extends [unknown, AckFn<infer D>] ? D : Record<string, never>;

/** A client event's handler: the socket it came on (its principal in socket.data) and the payload. */
export type SocketHandler<E extends keyof ClientToServerEvents> = (socket: ChatSocket, payload: unknown) => Promise<AckData<E>>;

/**
 * The handlers of the client events, one function per event shared by every socket, called with
 * the socket as `this`. A socket holds one middleware that dispatches from this table instead of
 * a closure and a listener per event: those cost about 4 KB per idle connection, a listener per
 * event alone about 1 KB (the emitter's table of 13 names; README, "Performance").
 * Each handler answers its ack in the contract's shape and never throws: bad payloads (null,
 * numbers, arrays, huge strings) become validation_failed, a missing ack is tolerated.
 */
export class SocketHandlers {
  private readonly listeners = new Map<string, (this: Socket, ...args: unknown[]) => void>();
  private readonly onOpen: ((socket: ChatSocket) => void)[] = [];
  private readonly onClose: ((socket: ChatSocket) => void)[] = [];

  constructor(
    private readonly log: SocketServerOptions["log"],
    /** Told how long each acknowledged event took (the node's metrics). */
    private readonly observeAck?: (event: string, seconds: number, ok: boolean) => void,
  ) {}

  on<E extends keyof ClientToServerEvents>(event: E, handler: SocketHandler<E>): this {
    type T = AckData<E>;
    const { log } = this;
    const observe = this.observeAck;
    this.listeners.set(
      event as string,
      async function (this: Socket, ...args: unknown[]) {
        const socket = this as unknown as ChatSocket;
        const ack = typeof args.at(-1) === "function" ? (args.pop() as (r: Ack<T>) => void) : undefined;
        const payload = args[0];
        const started = performance.now();
        let response: Ack<T>;
        try {
          response = { ok: true, data: await handler(socket, payload) };
        } catch (err) {
          const appError = err instanceof AppError ? err : toAppError(err as Error);
          if (appError.code === "internal" || (appError.code === "unavailable" && !(err instanceof AppError))) {
            logFailure(log, `socket handler failed (${event})`, appError.code, err, { event, socketId: socket.id });
          }
          response = { ok: false, error: appError.toBody() };
        }
        observe?.(event, (performance.now() - started) / 1000, response.ok);
        ack?.(response);
      },
    );
    return this;
  }

  /** Called once per socket when it connects (attach), in the order added. */
  onConnect(fn: (socket: ChatSocket) => void): this {
    this.onOpen.push(fn);
    return this;
  }

  /** Called once per socket on "disconnect", in the order added (one shared listener for all). */
  onDisconnect(fn: (socket: ChatSocket) => void): this {
    this.onClose.push(fn);
    return this;
  }

  /** Whether an event has a handler here. */
  handles(event: string): boolean {
    return this.listeners.has(event);
  }

  /** On connection, before any event can arrive: the socket gets every handler. */
  attach(socket: ChatSocket): void {
    for (const fn of this.onOpen) fn(socket);
    const s = socket as unknown as Socket;
    s.use(this.dispatcher(s));
    if (this.onClose.length > 0) s.on("disconnect", this.disconnected);
  }

  /**
   * The socket's last middleware (after the event budget, which may drop an event): calls the
   * event's handler as Socket.IO calls listeners, on the next tick and only while the socket is
   * connected, then lets the event on to any listener registered the ordinary way.
   */
  private dispatcher(socket: Socket): (packet: unknown[], next: (err?: Error) => void) => void {
    const listeners = this.listeners;
    return (packet, next) => {
      const listener = listeners.get(packet[0] as string);
      if (listener) {
        process.nextTick(() => {
          if (socket.connected) void listener.apply(socket, packet.slice(1));
        });
      }
      next();
    };
  }

  private readonly disconnected = (() => {
    const fns = this.onClose;
    return function (this: Socket) {
      for (const fn of fns) fn(this as unknown as ChatSocket);
    };
  })();
}

// One RepeatedLog per logger: the same failure on every socket (a database outage) is logged once
// per interval with a count; `unavailable` as a warning without a stack (an outage, not a bug).
const repeatedLogs = new WeakMap<SocketServerOptions["log"], RepeatedLog>();

function logFailure(log: SocketServerOptions["log"], what: string, code: string, err: unknown, fields: object = {}): void {
  let repeated = repeatedLogs.get(log);
  if (!repeated) {
    repeated = new RepeatedLog({ summary: (key, count, ms) => log.warn({ repeated: count }, `${key} (repeated ${count} times in the last ${ms / 1000} s)`) });
    repeatedLogs.set(log, repeated);
  }
  repeated.report(errorKey(what, err), () =>
    code === "internal" ? log.error({ err, ...fields }, what) : log.warn({ cause: (err as Error).message, ...fields }, `${what}: unavailable`),
  );
}
