// Which users' events a socket receives, and the bus subscriptions that takes. A socket listens to
// its own user's channel; channelsOf may add more (an admin's socket also receiving a shared
// pseudo-user's events). The node joins a user's channel on the bus when that user's first
// socket arrives and leaves it when the last one is gone (the bus counts), and the socket sits in
// the Socket.IO room of each of its users, where delivery.ts emits that user's copies.
import type { Principal } from "../auth/token-verifier.js";
import type { EventBus } from "../cluster/event-bus.js";
import { userRoom, type ChatSocket } from "./socket-types.js";

/** A subscription Redis has not confirmed by then does not hold a handshake up any longer. */
const JOIN_WAIT_MS = 2_000;

export class SocketChannels {
  /** user → users whose rooms share sockets with its room → how many sockets (multi-channel sockets only). */
  private readonly overlaps = new Map<string, Map<string, number>>();

  /** Sockets on this node per user channel. */
  private readonly sockets = new Map<string, number>();

  constructor(
    private readonly bus: Pick<EventBus<unknown>, "join" | "leave">,
    private readonly channelsOf: (principal: Principal) => readonly string[] = (p) => [p.userId],
    /** A user's first socket arrived on this node (true), or their last one left (false). */
    private readonly onPresence: (user: string, here: boolean) => void = () => undefined,
  ) {}

  /**
   * Handshake, before the socket counts as connected: resolves once the node receives its users'
   * events, so the client's "connect" comes after the subscription and nothing published later
   * is missed. Left again when the connection closes, whether or not the socket got that far.
   */
  async attach(socket: ChatSocket): Promise<void> {
    const users = [...new Set(this.channelsOf(socket.data.principal))];
    socket.data.channels = users;
    this.overlap(users, 1);
    this.count(users, 1);
    let attached = true;
    const detach = () => {
      if (!attached) return;
      attached = false;
      for (const user of users) this.bus.leave(user);
      this.overlap(users, -1);
      this.count(users, -1);
    };
    // on, not once: each is emitted once at most, and once() adds a wrapper per socket.
    socket.on("disconnect", detach);
    socket.conn.on("close", detach);
    await this.joined(users);
  }

  /** The bus's joins, or JOIN_WAIT_MS. Its own function: a timer in attach's scope would stay
   * reachable from detach (closures share their scope) for as long as the socket lives. */
  private async joined(users: readonly string[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(users.map((user) => this.bus.join(user))),
      new Promise((resolve) => (timer = setTimeout(resolve, JOIN_WAIT_MS))),
    ]).finally(() => clearTimeout(timer));
  }

  /** On connection: the socket enters its users' rooms. */
  enterRooms(socket: ChatSocket): void {
    void socket.join(socket.data.channels.map(userRoom));
  }

  /**
   * The copy of an event for `target` reaches sockets in target's room, except those also in the
   * room of a user listed before it in the event's `to`: that user's copy reaches them already,
   * so a socket listening to two of an event's users gets it once. Empty for ordinary sockets.
   */
  exceptRooms(target: string, to: readonly string[]): string[] {
    const shared = this.overlaps.get(target);
    if (!shared) return [];
    const rooms: string[] = [];
    for (const user of to) {
      if (user === target) break;
      if (shared.has(user)) rooms.push(userRoom(user));
    }
    return rooms;
  }

  private count(users: string[], delta: 1 | -1): void {
    for (const user of users) {
      const n = (this.sockets.get(user) ?? 0) + delta;
      if (n > 0) this.sockets.set(user, n);
      else this.sockets.delete(user);
      if (n === 1 && delta === 1) this.onPresence(user, true);
      if (n === 0) this.onPresence(user, false);
    }
  }

  private overlap(users: string[], delta: 1 | -1): void {
    if (users.length < 2) return;
    for (const a of users) {
      let shared = this.overlaps.get(a);
      if (!shared) this.overlaps.set(a, (shared = new Map()));
      for (const b of users) {
        if (a === b) continue;
        const n = (shared.get(b) ?? 0) + delta;
        if (n > 0) shared.set(b, n);
        else shared.delete(b);
      }
      if (shared.size === 0) this.overlaps.delete(a);
    }
  }
}
