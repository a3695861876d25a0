// Group commit (README, "Sending: group commit"): the batch statement on the real database (one
// statement for many sends in many conversations, per-item outcomes, gapless seq, idempotency
// under a race) and the node's batcher (smart batching, merged retries, attachments kept apart,
// one bad item failing alone, a bounded queue).
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SendBatcher } from "../src/chat/send-batcher.js";
import { MessageRepository, type BatchOutcome, type SendInput } from "../src/db/message-repository.js";
import { AppError } from "../src/errors/errors.js";
import { auth, makeConversation, useTestApp } from "./support/app.js";
import { adminToken, serviceToken, token } from "./support/tokens.js";

const fixture = useTestApp();

function input(conversationId: string, senderId: string, extra: Partial<SendInput> = {}): SendInput {
  return {
    conversationId,
    senderId,
    admin: false,
    clientId: randomUUID(),
    content: `m ${randomUUID().slice(0, 8)}`,
    replyToId: null,
    attachmentIds: [],
    moderation: null,
    unreadWebhookDelayMs: null,
    ...extra,
  };
}

async function history(conversationId: string, jwt: string) {
  const res = await fixture.app.inject({ method: "GET", url: `/api/conversations/${conversationId}/messages?limit=100`, headers: auth(jwt) });
  return res.json().items as { seq: number; clientId: string; senderId: string }[];
}

describe("the batch statement", () => {
  it("stores a batch across conversations in one statement, seq gapless per conversation in batch order, each refusal its own", async () => {
    const { app } = fixture;
    const repo = new MessageRepository(app.chat.db.pool);
    const a = await makeConversation(app);
    const b = await makeConversation(app);
    const other = await makeConversation(app);
    const stored = await repo.appendBatch([input(a.conversationId, a.buyer)], null);
    expect(stored[0]!.kind).toBe("stored");
    const first = stored[0] as Extract<BatchOutcome, { kind: "stored" }>;
    const foreignMessage = (await repo.appendBatch([input(other.conversationId, other.buyer)], null))[0] as Extract<BatchOutcome, { kind: "stored" }>;

    const items = [
      input(a.conversationId, a.seller), // 0 stored, seq 2
      input(b.conversationId, b.buyer), // 1 stored, seq 1
      input(a.conversationId, a.buyer, { clientId: first.message.clientId }), // 2 existing
      input(a.conversationId, a.buyer, { replyToId: foreignMessage.message.id }), // 3 refused: reply elsewhere
      input(a.conversationId, "nobody-" + randomUUID()), // 4 not the sender's conversation
      input(b.conversationId, b.buyer, { replyToId: null }), // 5 stored, seq 2
      input(a.conversationId, a.buyer, { replyToId: first.message.id }), // 6 stored, seq 3
      input(randomUUID(), a.buyer), // 7 no such conversation
    ];
    const before = app.chat.db.statementCount();
    const outcomes = await repo.appendBatch(items, null);
    expect(app.chat.db.statementCount() - before).toBe(1);
    expect(outcomes.map((o) => o.kind)).toEqual(["stored", "stored", "existing", "refused", "not_found", "stored", "stored", "not_found"]);
    const seqOf = (i: number) => (outcomes[i] as Extract<BatchOutcome, { kind: "stored" }>).message.seq;
    expect([seqOf(0), seqOf(6)]).toEqual([2, 3]);
    expect([seqOf(1), seqOf(5)]).toEqual([1, 2]);
    expect((outcomes[2] as Extract<BatchOutcome, { kind: "existing" }>).message.id).toBe(first.message.id);
    expect((outcomes[3] as Extract<BatchOutcome, { kind: "refused" }>).context.replyOk).toBe(false);
    // previousAt: the conversation's previous message (seq 1 has none).
    const stored0 = outcomes[0] as Extract<BatchOutcome, { kind: "stored" }>;
    expect(stored0.previousAt?.toISOString()).toBe(new Date(first.message.createdAt).toISOString());
    expect((outcomes[1] as Extract<BatchOutcome, { kind: "stored" }>).previousAt).toBeNull();
    // The split-number context: item 6 sees the batch's own earlier message in its conversation.
    expect((outcomes[6] as Extract<BatchOutcome, { kind: "stored" }>).context.recent.at(-1)?.content).toBe(items[0]!.content);

    expect((await history(a.conversationId, a.buyerToken)).map((m) => [m.seq, m.clientId])).toEqual([
      [1, first.message.clientId],
      [2, items[0]!.clientId],
      [3, items[6]!.clientId],
    ]);
    expect((await history(b.conversationId, b.buyerToken)).map((m) => m.seq)).toEqual([1, 2]);
  });

  it("the same clientId written by two batches at once is stored once, and seq has no gap", async () => {
    const { app } = fixture;
    const repo = new MessageRepository(app.chat.db.pool);
    const c = await makeConversation(app);
    // The seller may write once the buyer has.
    expect((await repo.appendBatch([input(c.conversationId, c.buyer)], null))[0]!.kind).toBe("stored");
    for (let round = 0; round < 10; round++) {
      const shared = input(c.conversationId, c.buyer);
      const [x, y] = await Promise.all([
        repo.appendBatch([input(c.conversationId, c.seller), shared], null),
        repo.appendBatch([shared, input(c.conversationId, c.buyer)], null),
      ]);
      const kinds = [x![1]!.kind, y![0]!.kind].sort();
      expect(kinds).toEqual(["existing", "stored"]);
      expect([x![0]!.kind, y![1]!.kind]).toEqual(["stored", "stored"]);
    }
    const seqs = (await history(c.conversationId, c.buyerToken)).map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
  });
});

describe("messages a delivering node fetches to fill a gap", () => {
  it("come as the events their senders published: the other side notified, the user when an admin wrote as the team", async () => {
    const { app } = fixture;
    const c = await makeConversation(app);
    const post = (jwt: string, conversationId: string, content: string) =>
      app.inject({ method: "POST", url: `/api/conversations/${conversationId}/messages`, headers: auth(jwt), payload: { clientId: randomUUID(), content } });
    expect((await post(c.buyerToken, c.conversationId, "from the buyer")).statusCode).toBe(201);
    expect((await post(c.sellerToken, c.conversationId, "from the seller")).statusCode).toBe(201);
    const listing = await app.chat.messages.missing(c.conversationId, 0, 10, null);
    expect(listing.map((e) => [e.message.seq, e.recipientId, e.opened?.userId ?? null])).toEqual([
      [1, c.seller, c.seller],
      [2, c.buyer, null],
    ]);

    const user = `u-gap-${randomUUID().slice(0, 8)}`;
    expect((await app.inject({ method: "PUT", url: `/api/internal/users/${user}`, headers: auth(serviceToken()), payload: { name: "Gap" } })).statusCode).toBe(201);
    const opened = await app.inject({ method: "POST", url: "/api/support/conversations", headers: auth(token(user)), payload: {} });
    expect(opened.statusCode).toBe(201);
    const support = opened.json().id as string;
    expect((await post(token(user), support, "help")).statusCode).toBe(201);
    expect((await post(adminToken("admin-gap"), support, "on it")).statusCode).toBe(201);
    const events = await app.chat.messages.missing(support, 0, 10, null);
    expect(events.map((e) => [e.message.content, e.recipientId])).toEqual([
      ["help", "support"],
      ["on it", user],
    ]);
    // Only the range asked for, and only what was stored since `since`.
    expect((await app.chat.messages.missing(support, 1, 2, null)).map((e) => e.message.seq)).toEqual([]);
    expect((await app.chat.messages.missing(support, 0, 10, new Date(Date.now() + 60_000))).map((e) => e.message.seq)).toEqual([]);
  });
});

/** A batcher whose writes are recorded and answered when the test says. */
function harness(options: { maxBatch?: number; queueLimit?: number; fail?: (inputs: SendInput[]) => Error | null } = {}) {
  const writes: SendInput[][] = [];
  const gates: (() => void)[] = [];
  const batcher = new SendBatcher({
    maxBatch: options.maxBatch ?? 256,
    queueLimit: options.queueLimit ?? 1000,
    isUnavailable: (err) => (err as Error).message === "connection lost",
    write: async (inputs) => {
      writes.push(inputs);
      await new Promise<void>((resolve) => gates.push(resolve));
      const err = options.fail?.(inputs);
      if (err) throw err;
      return inputs.map((i): BatchOutcome => ({ kind: "stored", message: { clientId: i.clientId } as never, context: {} as never, previousAt: null }));
    },
  });
  /** Lets the oldest write waiting finish. */
  const release = async () => {
    await expect.poll(() => gates.length).toBeGreaterThan(0);
    gates.shift()!();
  };
  return { batcher, writes, release };
}

describe("the batcher", () => {
  it("writes at once when idle; what arrives meanwhile goes in the next write, up to maxBatch", async () => {
    const { batcher, writes, release } = harness({ maxBatch: 4 });
    const first = batcher.submit(input("c1", "u"));
    expect(writes.map((w) => w.length)).toEqual([1]);
    const more = Array.from({ length: 6 }, (_, i) => batcher.submit(input(`c${i % 3}`, "u")));
    expect(batcher.queued).toBe(6);
    await release();
    await first;
    await expect.poll(() => writes.length).toBe(2);
    await release();
    await expect.poll(() => writes.length).toBe(3);
    await release();
    await Promise.all(more);
    expect(writes.map((w) => w.length)).toEqual([1, 4, 2]);
  });

  it("merges attempts of one clientId queued or in flight: one item written, the later attempt marked merged", async () => {
    const { batcher, writes, release } = harness();
    const one = input("c", "u");
    const inFlight = batcher.submit(one);
    const again = batcher.submit({ ...one });
    const two = input("c", "u");
    const queued = batcher.submit(two);
    const queuedAgain = batcher.submit({ ...two });
    await release();
    await release();
    expect((await inFlight).merged).toBe(false);
    expect((await again).merged).toBe(true);
    expect((await queued).merged).toBe(false);
    expect((await queuedAgain).merged).toBe(true);
    expect(writes.map((w) => w.map((i) => i.clientId))).toEqual([[one.clientId], [two.clientId]]);
  });

  it("keeps two sends naming one attachment out of one batch", async () => {
    const { batcher, writes, release } = harness();
    const blocker = batcher.submit(input("c", "u"));
    const x = batcher.submit(input("c", "u", { attachmentIds: ["att-1"] }));
    const y = batcher.submit(input("c", "u", { attachmentIds: ["att-2", "att-1"] }));
    const z = batcher.submit(input("c", "u"));
    await release();
    await release();
    await release();
    await Promise.all([blocker, x, y, z]);
    expect(writes.map((w) => w.map((i) => i.attachmentIds.join("+")))).toEqual([[""], ["att-1", ""], ["att-2+att-1"]]);
  });

  it("a batch the statement cannot take is retried item by item: only the bad item fails", async () => {
    const poison = input("c", "u", { content: "poison" });
    const { batcher, writes, release } = harness({
      fail: (inputs) => (inputs.some((i) => i.content === "poison") ? new Error("invalid input syntax") : null),
    });
    const blocker = batcher.submit(input("c", "u"));
    const good = [batcher.submit(input("c", "u")), batcher.submit(input("d", "u"))];
    const bad = batcher.submit(poison);
    for (let i = 0; i < 5; i++) await release();
    await blocker;
    expect((await Promise.all(good)).map((s) => s.outcome.kind)).toEqual(["stored", "stored"]);
    await expect(bad).rejects.toThrow("invalid input syntax");
    expect(writes.map((w) => w.length)).toEqual([1, 3, 1, 1, 1]);
  });

  it("a store that is not answering fails the whole batch at once", async () => {
    const { batcher, writes, release } = harness({ fail: (inputs) => (inputs.length > 1 ? new Error("connection lost") : null) });
    const blocker = batcher.submit(input("c", "u"));
    const items = [batcher.submit(input("c", "u")), batcher.submit(input("d", "u"))];
    await release();
    await blocker;
    await release();
    for (const item of items) await expect(item).rejects.toThrow("connection lost");
    expect(writes.map((w) => w.length)).toEqual([1, 2]);
  });

  it("answers unavailable when its queue is full, and takes sends again once it drains", async () => {
    const { batcher, release } = harness({ queueLimit: 2 });
    const blocker = batcher.submit(input("c", "u"));
    const queued = [batcher.submit(input("c", "u")), batcher.submit(input("c", "u"))];
    await expect(batcher.submit(input("c", "u"))).rejects.toSatisfy((err) => err instanceof AppError && err.code === "unavailable");
    await release();
    await release();
    await Promise.all([blocker, ...queued]);
    const later = batcher.submit(input("c", "u"));
    await release();
    expect((await later).merged).toBe(false);
  });
});
