// Preloaded into the benchmark's server processes (node --expose-gc --import this file): SIGUSR2
// runs a full garbage collection, so that the connections scenario reads resident memory without
// the garbage that earlier traffic left behind. Plain JavaScript: it loads before tsx does.
if (typeof globalThis.gc === "function") {
  process.on("SIGUSR2", () => {
    globalThis.gc();
    globalThis.gc();
  });
}
