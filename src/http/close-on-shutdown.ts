// Shutdown and keep-alive: when the node starts closing, Fastify closes the connections that are
// idle at that moment, but a request still in flight leaves its keep-alive connection open once
// answered, and the server's close then waits for it until the keep-alive timeout (72 s). Every
// response sent after closing began asks the client to close the connection instead.
import type { FastifyInstance } from "fastify";

export function closeConnectionsOnShutdown(app: FastifyInstance): void {
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", async (_request, reply, payload) => {
    if (closing) reply.header("connection", "close");
    return payload;
  });
}
