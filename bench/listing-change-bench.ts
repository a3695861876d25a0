// A listing change announced in 10,000 conversations, and what it does to sends elsewhere on the
// same node (README, "Listing changes in the thread"):
//
//   npx tsx bench/listing-change-bench.ts [--conversations 10000] [--sends 1000] [--batch 50] [--pause 0]
//
// One real server process (src/main.ts under tsx) on PostgreSQL + Redis. The listing's
// conversations (each with one buyer message) are written in SQL beforehand. Then, over one
// socket in another conversation: N sequential sends with nothing else running (baseline), then a
// PUT that changes the listing's price, with sequential sends for as long as the change is being
// written. Printed, and written to bench/results/listing-change-bench.json: how long the PUT
// took, how long until every conversation had its message, the send → ack latencies of both
// phases and their ratios. Nothing here fails on a timing.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { connectSocket, emitAck, type ClientSocket } from "../test/support/app.js";
import { startNode, type NodeProcess } from "../test/support/cluster.js";
import { token } from "../test/support/tokens.js";
import { createBenchEnv } from "./support/bench-env.js";
import { machineDescription } from "./support/proc-stats.js";
import { putAsService, round, summarizeSamples } from "./support/samples.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));


export async function runListingChangeBench(opts: { conversations?: number; sends?: number; batch?: number; pause?: number } = {}) {
  const conversations = opts.conversations ?? 10_000;
  const sends = opts.sends ?? 1000;
  const batch = opts.batch ?? 50;
  const pause = opts.pause ?? 0;
  const log = (line: string) => console.log(`[listing-change] ${line}`);
  const env = await createBenchEnv();
  const db = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
  // Dropping the database at the end ends connections the pool is still closing.
  db.on("error", () => undefined);
  let node: NodeProcess | undefined;
  let socket: ClientSocket | undefined;
  try {
    node = await startNode(env, "bench-listing-change", { RATE_LIMIT_MESSAGES: "off", LISTING_CHANGE_BATCH_SIZE: String(batch), LISTING_CHANGE_BATCH_PAUSE_MS: String(pause) }, { startTimeoutMs: 120_000 });
    await putAsService(node, "/api/internal/listings/big", { sellerId: "big-seller", title: "Popular sofa", priceCents: 50_000, currency: "EUR" });
    log(`seeding ${conversations} conversations`);
    await seed(db, "big", "big-seller", conversations);

    // The conversation the sends go to: another listing, another seller.
    await putAsService(node, "/api/internal/listings/other", { sellerId: "other-seller", title: "Lamp" });
    const opened = await fetch(`${node.url}/api/conversations`, {
      method: "POST",
      headers: { authorization: `Bearer ${token("sender")}`, "content-type": "application/json" },
      body: JSON.stringify({ listingId: "other" }),
    });
    const conversationId = ((await opened.json()) as { id: string }).id;
    socket = await connectSocket(node.url, token("sender"));
    const send = async () => {
      const started = performance.now();
      const ack = await emitAck<{ ok: boolean; error?: unknown }>(socket!, "message:send", { conversationId, clientId: randomUUID(), content: "is this still available?" });
      if (!ack.ok) throw new Error(`send failed: ${JSON.stringify(ack.error)}`);
      return performance.now() - started;
    };
    for (let i = 0; i < 50; i++) await send();

    const baselineSamples: number[] = [];
    for (let i = 0; i < sends; i++) baselineSamples.push(await send());
    const baseline = summarizeSamples(baselineSamples);
    log(`baseline: ${sends} sends, p50 ${baseline.p50Ms} ms, p99 ${baseline.p99Ms} ms`);

    const putStarted = performance.now();
    await putAsService(node, "/api/internal/listings/big", { sellerId: "big-seller", title: "Popular sofa", priceCents: 45_000, currency: "EUR" });
    const putMs = performance.now() - putStarted;
    let doneMs: number | null = null;
    const watcher = (async () => {
      for (;;) {
        const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM listing_changes`);
        if (rows[0]!.n === 0) {
          doneMs = performance.now() - putStarted;
          return;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const duringSamples: number[] = [];
    while (doneMs === null) duringSamples.push(await send());
    await watcher;
    const during = summarizeSamples(duringSamples);
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE type = 'system' AND content LIKE 'Price changed%'`);
    const written = rows[0]!.n;
    log(`change: PUT answered in ${round(putMs)} ms; ${written} system messages written in ${round(doneMs!)} ms`);
    log(`during: ${duringSamples.length} sends, p50 ${during.p50Ms} ms, p99 ${during.p99Ms} ms`);

    const result = {
      machine: machineDescription(),
      command: "npx tsx bench/listing-change-bench.ts",
      conversations,
      batchSize: batch,
      batchPauseMs: pause,
      putMs: round(putMs),
      changeWrittenMs: round(doneMs!),
      systemMessagesWritten: written,
      messagesPerSecond: Math.round(written / (doneMs! / 1000)),
      baseline,
      duringChange: during,
      p50Ratio: round(during.p50Ms / baseline.p50Ms),
      p99Ratio: round(during.p99Ms / baseline.p99Ms),
    };
    log(`during / baseline: p50 × ${result.p50Ratio}, p99 × ${result.p99Ratio}`);
    const outDir = join(ROOT, "bench", "results");
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, "listing-change-bench.json"), `${JSON.stringify(result, null, 2)}\n`);
    log("wrote bench/results/listing-change-bench.json");
    return result;
  } finally {
    socket?.close();
    await node?.stop();
    await db.end();
    await env.close();
  }
}

/** `count` conversations about the listing, each with one buyer message (as the test suite seeds them). */
async function seed(db: pg.Pool, listingId: string, sellerId: string, count: number): Promise<void> {
  await db.query(
    `WITH buyers AS (
       INSERT INTO users (id, name) SELECT $1::text || '-buyer-' || i, 'Buyer ' || i FROM generate_series(1, $3::int) i RETURNING id
     ), convs AS (
       INSERT INTO conversations (listing_id, buyer_id, seller_id, last_seq) SELECT $1::text, id, $2::text, 1 FROM buyers
       RETURNING id, buyer_id
     ), parts AS (
       INSERT INTO participants (conversation_id, user_id, role, last_read_seq)
       SELECT id, buyer_id, 'buyer'::participant_role, 1 FROM convs UNION ALL SELECT id, $2::text, 'seller'::participant_role, 0 FROM convs
     )
     INSERT INTO messages (conversation_id, seq, sender_id, client_id, type, content)
     SELECT id, 1, buyer_id, gen_random_uuid(), 'text', 'is it still available?' FROM convs`,
    [listingId, sellerId, count],
  );
}




if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Strict: an unknown flag or one without its value is an error, never a run with defaults.
  const { values } = parseArgs({
    strict: true,
    options: { conversations: { type: "string" }, sends: { type: "string" }, batch: { type: "string" }, pause: { type: "string" } },
  });
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  runListingChangeBench({
    conversations: num(values.conversations),
    sends: num(values.sends),
    batch: num(values.batch),
    pause: num(values.pause),
  }).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
