// In-process mutual exclusion per key (the send path's per-conversation queue).

/** FIFO mutual exclusion per key; an idle key takes no memory. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Resolves once the caller holds `key`, with the function that releases it (idempotent). */
  async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const tail = previous ? previous.then(() => gate) : gate;
    this.tails.set(key, tail);
    if (previous) await previous;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      open();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }

  /** Keys held or waited for (for tests). */
  get size(): number {
    return this.tails.size;
  }
}
