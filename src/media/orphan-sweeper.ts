// Runs the orphan-upload sweep on an interval. The timer is unref'd (it never keeps a process
// alive), runs never overlap, and stop() waits for a run in progress so the database is not
// closed under it. Safe with several nodes: each run claims rows with SKIP LOCKED (see
// db/attachment-repository.ts), so nodes sweeping at the same moment split the work.
export interface OrphanSweeper {
  /** One run now (also what the timer calls); resolves with the number of uploads removed. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function startOrphanSweeper(opts: {
  intervalMs: number;
  sweep: () => Promise<number>;
  onSwept?: (count: number) => void;
  onError: (err: unknown) => void;
}): OrphanSweeper {
  let running: Promise<number> | null = null;
  let stopped = false;
  const runOnce = (): Promise<number> => {
    if (running) return running;
    running = opts
      .sweep()
      .then((count) => {
        if (count > 0) opts.onSwept?.(count);
        return count;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer = setInterval(() => {
    if (stopped || running) return;
    runOnce().catch(opts.onError);
  }, opts.intervalMs);
  timer.unref();
  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      // A failing run was already reported by whoever started it; here we only wait for it to end.
      await running?.then(
        () => undefined,
        () => undefined,
      );
    },
  };
}
