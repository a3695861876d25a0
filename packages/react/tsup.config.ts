import { defineConfig } from "tsup";

// One ESM file and its .d.ts; React and the client stay imports (peer and dependency).
export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm"],
  target: "es2022",
  platform: "neutral",
  dts: true,
  sourcemap: true,
  clean: true,
  external: ["react", "@marketchat/client"],
});
