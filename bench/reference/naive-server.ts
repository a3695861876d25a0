// Reference baseline (c), a chat server built the way the common tutorials build one: verify the
// JWT in the handshake, join the conversation's room, and on message:send insert through Prisma
// and emit to the room (Redis adapter across nodes). No seq under a lock, no idempotency, no
// participant or block checks. The service is expected to be at least as fast as this while
// doing all of those.
//
// The schema requires a per-conversation unique seq; the tutorial has none, so it fills the
// column from a per-process counter (unique across nodes, ordered by nothing) to satisfy the
// constraint without coordination. The counter starts far above any seq the service gave the
// same conversations earlier in the run.
import { createServer } from "node:http";
import { createAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import jwt from "jsonwebtoken";
import { Server } from "socket.io";
import { createDatabase } from "../../src/db/database.js";

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = process.env.REDIS_PREFIX ?? "mcbench-naive";
const nodeId = process.env.NODE_ID ?? `naive-${process.pid}`;
const secret = process.env.JWT_SECRET ?? "";
const nodeIndex = Number(process.env.BENCH_NODE_INDEX ?? 0);
const nodeCount = Number(process.env.BENCH_NODE_COUNT ?? 1);
if (!process.env.DATABASE_URL) throw new Error("DATABASE_URL is required");

const db = createDatabase({
  url: process.env.DATABASE_URL,
  poolSize: Number(process.env.DATABASE_POOL_SIZE ?? 10),
  applicationName: `mcbench:${nodeId}`,
  onConnectionError: (err) => process.stderr.write(`database connection failed: ${err.message}\n`),
});

const SEQ_BASE = 1_000_000_000;
let counter = 0;
let stored = 0;
let failed = 0;
const http = createServer((req, res) => {
  if (req.url === "/stats") {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ node: nodeId, stored, failed, statements: db.statementCount(), rss: process.memoryUsage().rss }));
    return;
  }
  res.statusCode = 404;
  res.end();
});
const pub = new Redis(redisUrl, { connectionName: `mcbench:${nodeId}:pub` });
const sub = new Redis(redisUrl, { connectionName: `mcbench:${nodeId}:sub` });
const io = new Server(http, { serveClient: false, adapter: createAdapter(pub, sub, { key: `${prefix}:sio` }) });

io.use((socket, next) => {
  try {
    const claims = jwt.verify(String((socket.handshake.auth as { token?: unknown }).token ?? ""), secret, { algorithms: ["HS256"] });
    socket.data.userId = (claims as { sub: string }).sub;
    next();
  } catch {
    next(new Error("unauthorized"));
  }
});

io.on("connection", (socket) => {
  socket.on("conversation:join", (payload: { conversationId?: unknown }, ack?: (r: unknown) => void) => {
    void socket.join(String(payload?.conversationId));
    ack?.({ ok: true, data: {} });
  });
  socket.on("message:send", async (payload: { conversationId: string; clientId: string; content: string }, ack?: (r: unknown) => void) => {
    try {
      counter += 1;
      const message = await db.prisma.message.create({
        data: {
          conversationId: payload.conversationId,
          senderId: socket.data.userId as string,
          clientId: payload.clientId,
          type: "text",
          content: payload.content,
          seq: SEQ_BASE + counter * nodeCount + nodeIndex,
        },
      });
      stored += 1;
      io.to(payload.conversationId).emit("message:new", message);
      ack?.({ ok: true, data: message });
    } catch (err) {
      failed += 1;
      process.stderr.write(`naive send failed: ${(err as Error).message}\n`);
      ack?.({ ok: false, error: { code: "internal", message: "Could not send" } });
    }
  });
});

http.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1", () => {
  const address = http.address();
  const port = typeof address === "object" && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ msg: `Server listening at http://127.0.0.1:${port}`, node: nodeId })}\n`);
});

const stop = () => {
  io.close();
  Promise.allSettled([pub.quit(), sub.quit(), db.close()]).then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
