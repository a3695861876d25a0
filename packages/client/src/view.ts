// What the views (conversation list, thread, unread counter, presence) share: they start when
// the first user retains them, follow live events while anyone does, and stop with the last.
import type { ChatClient } from "./chat-client.js";
import { StateStore } from "./store.js";

export abstract class LiveView<S> extends StateStore<S> {
  private users = 0;
  private stops: (() => void)[] = [];

  constructor(
    protected readonly chat: ChatClient,
    initial: S,
  ) {
    super(initial);
  }

  /** Keeps the view live until the returned function is called (counted: views are shared). */
  retain(): () => void {
    if (this.users++ === 0 && !this.chat.isClosed) this.stops = this.start();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.users === 0) this.stop();
    };
  }

  close(): void {
    this.users = 0;
    this.stop();
  }

  /** Subscribes to what keeps the view current and loads it; returns the unsubscribers. */
  protected abstract start(): (() => void)[];

  private stop(): void {
    for (const stop of this.stops.splice(0)) stop();
  }
}
