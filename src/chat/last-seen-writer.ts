// Last-seen times reach the database in batches: when a node with thousands of sockets restarts,
// its users go offline together, and one UPDATE per user would hit PostgreSQL all at once.

/** Entries kept while the database is away; beyond this the oldest are dropped (Redis still has them for a day). */
const MAX_PENDING = 100_000;

export class LastSeenWriter {
  private pending = new Map<string, Date>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly save: (entries: { userId: string; at: Date }[]) => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  add(userId: string, at: Date): void {
    const known = this.pending.get(userId);
    if (known && known >= at) return;
    this.pending.delete(userId);
    if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
    this.pending.set(userId, at);
    this.schedule();
  }

  /** A time not yet written, so readers are not behind the events already sent. */
  unwritten(userId: string): Date | undefined {
    return this.pending.get(userId);
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => void this.flush(), this.intervalMs);
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.save([...batch].map(([userId, at]) => ({ userId, at })));
    } catch (err) {
      this.onError(err);
      for (const [userId, at] of batch) if (!this.pending.has(userId)) this.add(userId, at);
    }
  }
}
