// The benchmark's reading of the nodes' /metrics (bench/support/server-counters.ts): statements per
// message and the group-commit batch-size histogram, summed over nodes, as deltas between two
// readings; the database ceiling's feature check for appendBatch; and the command-line options of
// the hot-conversation scenario. No timing here.
import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { OptionError, parseOptions } from "../bench/cli/options.js";
import { storeMessages } from "../bench/reference/database-writes.js";
import type { MessageRepository, SendInput } from "../src/db/message-repository.js";
import { countersOf, stepServerStats } from "../bench/support/server-counters.js";

const BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/** A node's registry as the service builds it: a default node label, the three metrics. */
function node(name: string, withBatches = true) {
  const registry = new Registry();
  registry.setDefaultLabels({ node: name });
  const statements = new Counter({ name: "marketchat_db_statements_total", help: "h", registers: [registry] });
  const sent = new Counter({ name: "marketchat_messages_sent_total", help: "h", registers: [registry] });
  const batch = withBatches
    ? new Histogram({ name: "marketchat_send_batch_size", help: "h", buckets: BUCKETS, registers: [registry] })
    : null;
  /** One written batch of `size` messages costing `sql` statements. */
  const write = (size: number, sql: number) => {
    statements.inc(sql);
    sent.inc(size);
    batch?.observe(size);
  };
  return { registry, write, text: () => registry.metrics() };
}

describe("bench server counters", () => {
  it("sums statements, messages and batch sizes over nodes, between two readings", async () => {
    const a = node("node-1");
    const b = node("node-2");
    a.write(1, 1);
    b.write(3, 1);
    const before = countersOf([await a.text(), await b.text()]);
    // During the step: 4 batches (sizes 1, 5, 20, 300), 4 statements, 326 messages.
    a.write(1, 1);
    a.write(5, 1);
    b.write(20, 1);
    b.write(300, 1);
    const after = countersOf([await a.text(), await b.text()]);
    const stats = stepServerStats(before, after, 0);
    expect(stats.statements).toBe(4);
    expect(stats.messages).toBe(326);
    expect(stats.messagesFrom).toBe("server");
    expect(stats.statementsPerMessage).toBe(0.01);
    expect(stats.batchSize).toMatchObject({ batches: 4, items: 326, mean: 81.5, p50: 8, p90: "+Inf", max: "+Inf" });
    expect(stats.batchSize!.byBucket).toMatchObject({ "1": 1, "2": 0, "4": 0, "8": 1, "32": 1, "256": 0, "+Inf": 1 });
  });

  it("reports no batch sizes while the nodes expose no histogram, and per-message statements still", async () => {
    const a = node("node-1", false);
    const before = countersOf([await a.text()]);
    for (let i = 0; i < 10; i++) a.write(1, 2);
    const stats = stepServerStats(before, countersOf([await a.text()]), 10);
    expect(stats.statementsPerMessage).toBe(2);
    expect(stats.batchSize).toBeNull();
  });

  it("falls back to completed deliveries when the servers count no messages", () => {
    const empty = countersOf([""]);
    const stats = stepServerStats(empty, empty, 7);
    expect(stats).toMatchObject({ statements: null, messages: 7, messagesFrom: "completed", statementsPerMessage: null, batchSize: null });
  });
});

describe("bench options: hot conversation", () => {
  const parse = (...argv: string[]) => parseOptions(argv, "/tmp/root");
  it("runs it in full runs, not in --quick unless asked, never with --skip hot", () => {
    expect(parse().hot).toBe(true);
    expect(parse("--quick").hot).toBe(false);
    expect(parse("--quick", "--hot").hot).toBe(true);
    expect(parse("--skip", "hot").hot).toBe(false);
    expect(() => parse("--hot", "--skip", "hot")).toThrow(OptionError);
  });
  it("takes its rates strictly", () => {
    expect(parse("--hot-rate", "400", "--hot-background", "0")).toMatchObject({ hotRate: 400, hotBackground: 0 });
    expect(() => parse("--hot-rate", "fast")).toThrow(OptionError);
    expect(() => parse("--hot-rat", "200")).toThrow(OptionError);
    expect(() => parse("--db-batch", "0")).toThrow(OptionError);
  });
});

describe("bench database ceiling writes", () => {
  const input = (i: number): SendInput => ({
    conversationId: `c${i}`,
    senderId: "u",
    admin: false,
    clientId: `k${i}`,
    content: "hi",
    replyToId: null,
    attachmentIds: [],
    moderation: null,
    unreadWebhookDelayMs: null,
  });
  /** A repository stand-in: appendBatch logs each call's size and refuses conversation c99. */
  function fakeRepo() {
    const log: string[] = [];
    const repo = {
      appendBatch: async (inputs: SendInput[]) => {
        log.push(`batch ${inputs.length}`);
        return inputs.map((i) => ({ kind: i.conversationId === "c99" ? "refused" : "stored" }));
      },
    };
    return { repo: repo as unknown as MessageRepository, log };
  }

  it("writes one statement per message when unbatched", async () => {
    const { repo, log } = fakeRepo();
    expect(await storeMessages(repo, [input(1), input(2)], false)).toBe(2);
    expect(log).toEqual(["batch 1", "batch 1"]);
  });

  it("writes a whole batch in one appendBatch call, and fails on a refused item", async () => {
    const { repo, log } = fakeRepo();
    expect(await storeMessages(repo, [input(1), input(2), input(3)], true)).toBe(3);
    expect(log).toEqual(["batch 3"]);
    await expect(storeMessages(repo, [input(1), input(99)], true)).rejects.toThrow("not stored: refused");
  });
});
