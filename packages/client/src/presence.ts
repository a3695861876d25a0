// Online status and last seen (GET /api/presence, then `user:online` / `user:offline`) for the
// users someone watches. The service tells only users who share a conversation; anyone else
// reads as offline and never seen.
import type { ChatClient } from "./chat-client.js";
import type { PresenceView } from "./contract.js";
import { LiveView } from "./view.js";

/** GET /api/presence takes at most this many ids per request. */
const IDS_PER_REQUEST = 100;

export class PresenceTracker extends LiveView<Readonly<Record<string, PresenceView>>> {
  private readonly watched = new Map<string, number>();

  constructor(chat: ChatClient) {
    super(chat, {});
  }

  /** Keeps these users' presence current until the returned function is called. */
  watch(userIds: string[]): () => void {
    const release = this.retain();
    const fresh = [...new Set(userIds)].filter((id) => {
      const count = this.watched.get(id) ?? 0;
      this.watched.set(id, count + 1);
      return count === 0 && !(id in this.getSnapshot());
    });
    void this.fetch(fresh);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const id of new Set(userIds)) {
        const count = (this.watched.get(id) ?? 1) - 1;
        if (count > 0) this.watched.set(id, count);
        else this.watched.delete(id);
      }
      release();
    };
  }

  protected start(): (() => void)[] {
    return [
      this.chat.on("user:online", ({ userId }) => this.put({ userId, online: true, lastSeenAt: this.getSnapshot()[userId]?.lastSeenAt ?? null })),
      this.chat.on("user:offline", ({ userId, lastSeenAt }) => this.put({ userId, online: false, lastSeenAt })),
      // Changes while disconnected were not heard: ask again for everyone watched.
      this.chat.onReconnect(() => void this.fetch([...this.watched.keys()])),
      // A conversation's first message makes its participants contacts: users who read as
      // unknown until then (offline, never seen) may now be visible.
      this.chat.on("message", (m) => {
        if (m.seq !== 1) return;
        const snapshot = this.getSnapshot();
        void this.fetch([...this.watched.keys()].filter((id) => !snapshot[id]?.online && !snapshot[id]?.lastSeenAt));
      }),
    ];
  }

  private async fetch(userIds: string[]): Promise<void> {
    for (let i = 0; i < userIds.length; i += IDS_PER_REQUEST) {
      try {
        const views = await this.chat.api.presence(userIds.slice(i, i + IDS_PER_REQUEST));
        this.update((s) => ({ ...s, ...Object.fromEntries(views.map((v) => [v.userId, v])) }));
      } catch {
        // Offline: the reconnect asks again.
      }
    }
  }

  private put(view: PresenceView): void {
    const current = this.getSnapshot()[view.userId];
    if (current && current.online === view.online && current.lastSeenAt === view.lastSeenAt) return;
    this.update((s) => ({ ...s, [view.userId]: view }));
  }
}
