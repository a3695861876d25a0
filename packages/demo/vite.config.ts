import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Served by the node at /demo/ (src/http/routes/demo-routes.ts). `npm run dev -w @marketchat/demo`
// serves it from Vite with the API proxied to a node on :3000.
export default defineConfig({
  base: "/demo/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
  server: {
    proxy: {
      "/api": "http://localhost:3000",
      "/demo/session": "http://localhost:3000",
      "/socket.io": { target: "http://localhost:3000", ws: true },
    },
  },
});
