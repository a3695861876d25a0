// `npx tsx bench/presence-failover.ts [--users N]`
//
// Presence with the default configuration (PRESENCE_TTL_MS 15 s, PRESENCE_GRACE_MS 3 s) on two
// real nodes sharing a fresh PostgreSQL database and Redis prefix:
//   - a node holding N users is killed (SIGKILL): how long until a contact connected to the other
//     node sees each of them go offline, and what releasing them cost the surviving node in SQL
//     statements and Redis commands (scraped from its /metrics);
//   - a user closes their last socket: how long until the contact sees user:offline.
// Prints the figures; timing is measured, never asserted.
import { io as connect, type Socket } from "socket.io-client";
import { startNode, type NodeProcess } from "../test/support/cluster.js";
import { serviceToken, token } from "../test/support/tokens.js";
import { createBenchEnv } from "./support/bench-env.js";

const users = Number(process.argv[process.argv.indexOf("--users") + 1] || 0) || 300;

async function call(base: string, method: string, path: string, jwt: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${jwt}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : ((await res.json()) as { id: string });
}

function open(url: string, user: string): Promise<Socket> {
  const s = connect(url, { auth: { token: token(user) }, transports: ["websocket"], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    s.once("connect", () => resolve(s));
    s.once("connect_error", reject);
  });
}

async function metric(node: NodeProcess, name: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith(name))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

async function inLanes<T>(items: T[], lanes: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

async function main() {
  const env = await createBenchEnv();
  const nodes: NodeProcess[] = [];
  const sockets: Socket[] = [];
  try {
    // Every bench socket comes from one address: the per-address connection limits stay out of reach.
    const unlimited = { SOCKET_HANDSHAKES_PER_IP: "1000000/1s", SOCKETS_PER_IP: "0" };
    const [a, doomed] = await Promise.all([startNode(env, "bench-a", unlimited), startNode(env, "bench-doomed", unlimited)]);
    nodes.push(a!, doomed!);
    const seller = "bench-seller";
    const service = serviceToken();
    await call(a!.url, "PUT", `/api/internal/users/${seller}`, service, { name: "Seller" });
    const buyers = Array.from({ length: users }, (_, i) => `bench-buyer-${i}`);
    console.log(`seeding ${users} conversations with a message (contacts of one seller)…`);
    await inLanes(buyers, 12, async (buyer) => {
      await call(a!.url, "PUT", `/api/internal/listings/l-${buyer}`, service, { sellerId: seller, title: "Bench" });
      const c = await call(a!.url, "POST", "/api/conversations", token(buyer), { listingId: `l-${buyer}` });
      await call(a!.url, "POST", `/api/conversations/${c!.id}/messages`, token(buyer), { clientId: crypto.randomUUID(), content: "hi" });
    });

    const watcher = await open(a!.url, seller);
    sockets.push(watcher);
    const online = new Set<string>();
    const offlineAt = new Map<string, number>();
    watcher.on("user:online", (p: { userId: string }) => online.add(p.userId));
    watcher.on("user:offline", (p: { userId: string }) => offlineAt.set(p.userId, Date.now()));
    await inLanes(buyers, 20, async (buyer) => {
      sockets.push(await open(doomed!.url, buyer));
    });
    while (online.size < users) await new Promise((r) => setTimeout(r, 50));
    // Let the contact lists be cached as in a running system, then measure the release alone.
    const sqlBefore = await metric(a!, "marketchat_db_statements_total");
    const redisBefore = await metric(a!, "marketchat_redis_commands_total");
    const killedAt = Date.now();
    await doomed!.kill();
    while (offlineAt.size < users) await new Promise((r) => setTimeout(r, 50));
    const times = buyers.map((b) => offlineAt.get(b)! - killedAt).sort((x, y) => x - y);
    // The last-seen batch is written within a second of the release.
    await new Promise((r) => setTimeout(r, 1500));
    const sql = (await metric(a!, "marketchat_db_statements_total")) - sqlBefore;
    const redis = (await metric(a!, "marketchat_redis_commands_total")) - redisBefore;
    const elapsedS = (Date.now() - killedAt) / 1000;

    const one = "bench-buyer-0";
    const again = await open(a!.url, one);
    while (offlineAt.has(one) && !online.has(one)) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 500));
    offlineAt.delete(one);
    const closedAt = Date.now();
    again.close();
    while (!offlineAt.has(one)) await new Promise((r) => setTimeout(r, 20));

    console.log(`\nkilled node holding ${users} users (PRESENCE_TTL_MS=15000 default):`);
    console.log(`  first user:offline after ${times[0]} ms, last after ${times.at(-1)} ms`);
    console.log(`  surviving node, ${elapsedS.toFixed(1)} s from kill to after the last-seen flush: ${sql} SQL statements, ${redis} Redis commands on its counted connections (the once-a-second sweep runs on a connection of its own)`);
    console.log(`last socket closed → user:offline after ${offlineAt.get(one)! - closedAt} ms (PRESENCE_GRACE_MS=3000 default)`);
  } finally {
    sockets.forEach((s) => s.close());
    await Promise.all(nodes.map((n) => n.stop()));
    await env.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
