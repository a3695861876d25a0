// Connection limits (README, "Connection limits"), probed from outside with small limits: a
// per-address handshake budget that closes refused connections, sockets per user and per address,
// an event budget per socket, and uploads in progress per user.
import { request } from "node:http";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { connectSocket, createTestEnv, emitAck, pushUser, startApp, type ClientSocket, type TestEnv } from "./support/app.js";
import { multipartBody } from "./support/multipart.js";
import { uniqueName } from "./support/env.js";
import { token } from "./support/tokens.js";

let env: TestEnv;
const apps: FastifyInstance[] = [];
const sockets: ClientSocket[] = [];
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => {
  sockets.forEach((s) => s.close());
  await Promise.all(apps.map((a) => a.close()));
  await env?.close();
});

async function node(overrides: Record<string, string>) {
  const started = await startApp(env, overrides);
  apps.push(started.app);
  return started;
}

async function open(url: string, jwt: string): Promise<ClientSocket> {
  const s = await connectSocket(url, jwt);
  sockets.push(s);
  return s;
}

const refusal = (url: string, jwt: string) =>
  open(url, jwt).then(
    () => "connected",
    (err: Error) => err.message,
  );

describe("handshakes per address", () => {
  it("past the budget a handshake is refused with rate_limited and its connection closed; bad tokens count too", async () => {
    const { url } = await node({ SOCKET_HANDSHAKES_PER_IP: "3/1m" });
    expect(await refusal(url, "garbage")).toBe("unauthorized");
    expect(await refusal(url, token(uniqueName("h")))).toBe("connected");
    expect(await refusal(url, token(uniqueName("h")))).toBe("connected");
    // The fourth: refused, and the server closes the connection. Spoken in the raw engine.io
    // protocol, as a flood would: socket.io-client closes a refused connection by itself.
    const ws = new WebSocket(`${url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`);
    const frames: string[] = [];
    ws.on("message", (data: Buffer) => {
      const frame = data.toString();
      frames.push(frame);
      if (frame.startsWith("0")) ws.send(`40${JSON.stringify({ token: token(uniqueName("h")) })}`);
    });
    const closed = await new Promise<number>((resolve) => ws.on("close", (code: number) => resolve(code)));
    expect(closed).toBeGreaterThan(0);
    const refusalFrame = frames.find((f) => f.startsWith("44"));
    expect(JSON.parse(refusalFrame!.slice(2))).toMatchObject({ message: "rate_limited", data: { code: "rate_limited" } });
  });
});

describe("sockets at once", () => {
  it("per user: the next one is refused until one closes", async () => {
    const { url } = await node({ SOCKETS_PER_USER: "2" });
    const user = uniqueName("many");
    const first = await open(url, token(user));
    await open(url, token(user));
    expect(await refusal(url, token(user))).toBe("rate_limited");
    // Someone else is not affected.
    expect(await refusal(url, token(uniqueName("other")))).toBe("connected");
    first.close();
    await expect.poll(() => refusal(url, token(user))).toBe("connected");
  });

  it("per address: the next one is refused, whoever it is", async () => {
    const { url } = await node({ SOCKETS_PER_IP: "2" });
    await open(url, token(uniqueName("ip")));
    await open(url, token(uniqueName("ip")));
    expect(await refusal(url, token(uniqueName("ip")))).toBe("rate_limited");
  });
});

describe("events per socket", () => {
  it("past the budget events are answered rate_limited and not run", async () => {
    const { url } = await node({ SOCKET_EVENTS_PER_SOCKET: "5/1m" });
    const s = await open(url, token(uniqueName("ev")));
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push(((await emitAck(s, "conversation:join", { conversationId: "00000000-0000-4000-8000-000000000000" })) as { error: { code: string } }).error.code);
    expect(answers).toEqual(["not_found", "not_found", "not_found", "not_found", "not_found", "rate_limited", "rate_limited"]);
    // Another socket has its own budget.
    const other = await open(url, token(uniqueName("ev")));
    expect(await emitAck(other, "conversation:join", { conversationId: "00000000-0000-4000-8000-000000000000" })).toMatchObject({ error: { code: "not_found" } });
  });
});

describe("uploads in progress per user", () => {
  it("a user with one upload still streaming is refused a second (429), others are not; once it ends, uploads work again", async () => {
    const { app, url } = await node({ UPLOADS_IN_FLIGHT_PER_USER: "1" });
    const user = uniqueName("drip");
    await pushUser(app, user);
    const pdf = Buffer.concat([Buffer.from("%PDF-1.4\n"), Buffer.alloc(2000, 0x41), Buffer.from("\n%%EOF\n")]);
    const body = await multipartBody([{ name: "a.pdf", data: pdf, type: "application/pdf" }]);
    // An upload that sends half its body and then waits.
    const { port } = new URL(url);
    const dripping = request({
      host: "127.0.0.1",
      port: Number(port),
      method: "POST",
      path: "/api/uploads",
      headers: { authorization: `Bearer ${token(user)}`, ...body.headers, "content-length": String(body.payload.length) },
    });
    dripping.on("error", () => undefined);
    dripping.write(body.payload.subarray(0, 600));

    const upload = async (jwt: string) => {
      const res = await fetch(`${url}/api/uploads`, { method: "POST", headers: { authorization: `Bearer ${jwt}`, ...body.headers }, body: body.payload });
      return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
    };
    await expect.poll(async () => (await upload(token(user))).status).toBe(429);
    expect((await upload(token(user))).body.error?.code).toBe("rate_limited");
    const other = uniqueName("other");
    await pushUser(app, other);
    expect((await upload(token(other))).status).toBe(201);

    dripping.destroy();
    await expect.poll(async () => (await upload(token(user))).status).toBe(201);
  });
});
