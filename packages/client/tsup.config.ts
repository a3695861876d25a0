import { defineConfig } from "tsup";

// One ESM file and one bundled .d.ts: the contract types that src/contract.ts re-exports from the
// server's leaf module are inlined, so dist/ stands alone. socket.io-client stays a dependency.
export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm"],
  target: "es2022",
  platform: "neutral",
  dts: true,
  sourcemap: true,
  clean: true,
  external: ["socket.io-client"],
});
