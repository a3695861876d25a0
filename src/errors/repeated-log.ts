// Logs a repeated failure once per interval with a count, instead of once per occurrence: while
// PostgreSQL is away every request fails the same way, and a line (with a stack) per request
// buries everything else (848 lines in 5 s before this). The first occurrence of a key is logged
// at once, as given; later ones within the interval are counted and summed up in one line when
// the interval ends ("… (repeated 312 times in the last 10 s)").

export interface RepeatedLogOptions {
  intervalMs?: number;
  /** Where the summary lines go (the same logger the first occurrence went to). */
  summary: (key: string, count: number, intervalMs: number) => void;
}

export class RepeatedLog {
  private readonly counts = new Map<string, { count: number; timer: NodeJS.Timeout }>();
  private readonly intervalMs: number;

  constructor(private readonly options: RepeatedLogOptions) {
    this.intervalMs = options.intervalMs ?? 10_000;
  }

  /** Runs `log` if `key` was not seen in the current interval; otherwise counts it. */
  report(key: string, log: () => void): void {
    const entry = this.counts.get(key);
    if (entry) {
      entry.count += 1;
      return;
    }
    log();
    // Keys come from error messages: past this many distinct ones, stop remembering (log each).
    if (this.counts.size < 1_000) this.arm(key);
  }

  private arm(key: string): void {
    const entry = { count: 0, timer: undefined as NodeJS.Timeout | undefined };
    entry.timer = setTimeout(() => {
      this.counts.delete(key);
      if (entry.count === 0) return;
      this.options.summary(key, entry.count, this.intervalMs);
      // Still failing: keep counting for one more interval rather than logging the next one.
      this.arm(key);
    }, this.intervalMs);
    // A pending summary never keeps the process alive (nor a test's event loop).
    entry.timer.unref();
    this.counts.set(key, entry as { count: number; timer: NodeJS.Timeout });
  }
}

/** The key of an error for RepeatedLog: its code and message, not its stack. */
export function errorKey(what: string, err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null;
  return `${what}: ${typeof e?.code === "string" ? `${e.code} ` : ""}${typeof e?.message === "string" ? e.message : String(err)}`;
}
