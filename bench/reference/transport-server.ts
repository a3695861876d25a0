// Reference ceiling (a), the bare transport: Socket.IO with the Redis adapter relaying the same
// traffic as the service — message:send acked at once and emitted to the conversation's room on
// every node — with no database, no authentication and no rules. Whatever the service loses
// against this is the price of storing, ordering and checking messages.
//
// Started by bench/run.ts through test/support/cluster.ts startNode (entry option), so it prints
// the same "Server listening at" line; GET /stats answers its counters.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { createAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import jwt from "jsonwebtoken";
import { Server } from "socket.io";

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = process.env.REDIS_PREFIX ?? "mcbench-transport";
const nodeId = process.env.NODE_ID ?? `transport-${process.pid}`;

let relayed = 0;
const http = createServer((req, res) => {
  if (req.url === "/stats") {
    res.setHeader("content-type", "application/json");
    // sockets and heap (JS heap used + external, as the service's /metrics) for the connections scenario.
    const memory = process.memoryUsage();
    res.end(JSON.stringify({ node: nodeId, relayed, statements: 0, rss: memory.rss, heap: memory.heapUsed + memory.external, sockets: io.engine.clientsCount }));
    return;
  }
  res.statusCode = 404;
  res.end();
});
const pub = new Redis(redisUrl, { connectionName: `mcbench:${nodeId}:pub` });
const sub = new Redis(redisUrl, { connectionName: `mcbench:${nodeId}:sub` });
const io = new Server(http, { serveClient: false, adapter: createAdapter(pub, sub, { key: `${prefix}:sio` }) });

io.on("connection", (socket) => {
  // Who is sending, for the payload only: the transport trusts the client (no verification).
  const claims = jwt.decode(String((socket.handshake.auth as { token?: unknown }).token ?? "")) as { sub?: string } | null;
  const senderId = claims?.sub ?? "anonymous";
  socket.on("conversation:join", (payload: { conversationId?: unknown }, ack?: (r: unknown) => void) => {
    void socket.join(`c:${String(payload?.conversationId)}`);
    ack?.({ ok: true, data: {} });
  });
  socket.on("message:send", (payload: { conversationId?: unknown; clientId?: unknown; content?: unknown }, ack?: (r: unknown) => void) => {
    relayed += 1;
    const message = {
      id: randomUUID(),
      conversationId: String(payload?.conversationId),
      seq: relayed,
      senderId,
      clientId: String(payload?.clientId),
      type: "text",
      content: typeof payload?.content === "string" ? payload.content : null,
      attachments: [],
      replyToId: null,
      createdAt: new Date().toISOString(),
      editedAt: null,
      deletedAt: null,
    };
    io.to(`c:${message.conversationId}`).emit("message:new", message);
    ack?.({ ok: true, data: message });
  });
});

http.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1", () => {
  const address = http.address();
  const port = typeof address === "object" && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ msg: `Server listening at http://127.0.0.1:${port}`, node: nodeId })}\n`);
});

const stop = () => {
  io.close();
  Promise.allSettled([pub.quit(), sub.quit()]).then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
