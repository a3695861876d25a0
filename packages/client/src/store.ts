// The state containers behind the client's views (conversation list, threads, unread counts,
// presence, the outbox). Each holds an immutable snapshot and tells subscribers when it is
// replaced: the shape React's useSyncExternalStore takes as is, and easy to use without React.

export interface ReadableStore<S> {
  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /** The current snapshot: the same object until something changes. */
  getSnapshot(): S;
}

export class StateStore<S> implements ReadableStore<S> {
  private readonly listeners = new Set<() => void>();

  constructor(private state: S) {}

  // Arrow properties: they can be handed around unbound (useSyncExternalStore(store.subscribe, …)).
  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  };

  readonly getSnapshot = (): S => this.state;

  protected set(next: S): void {
    if (Object.is(next, this.state)) return;
    this.state = next;
    for (const listener of [...this.listeners]) listener();
  }

  protected update(change: (state: S) => S): void {
    this.set(change(this.state));
  }
}

/** Load state of a view backed by the service. */
export type LoadStatus = "idle" | "loading" | "ready" | "error";
