// Delivery in seq order at the delivering node (realtime/seq-orderer.ts, README "Ordering"): the
// rules on their own, with a fake clock and a fake fetch. The cluster tests check the same with
// real nodes and Redis.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ChatEvent } from "../src/chat/events.js";
import { SeqOrderer } from "../src/realtime/seq-orderer.js";

type Created = Extract<ChatEvent, { type: "message.created" }>;

const T0 = Date.parse("2026-11-30T12:00:00Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();

function created(seq: number, createdMs: number, previousMs: number | null = createdMs - 1, conversationId = "c1"): Created {
  return {
    type: "message.created",
    to: ["buyer", "seller"],
    message: { id: `m${seq}`, conversationId, seq, createdAt: at(createdMs) } as Created["message"],
    recipientId: "seller",
    opened: null,
    previousAt: previousMs === null ? null : at(previousMs),
  };
}

function world(stored: Created[] = [], options: { gated?: boolean } = {}) {
  const delivered: string[] = [];
  /** With `gated`, each fetch waits until answer() is called. */
  const gates: (() => void)[] = [];
  const answer = () => gates.shift()?.();
  const fetches: [number, number, string | null][] = [];
  const counts = { held: 0, fetched: 0, dropped: 0 };
  const orderer = new SeqOrderer({
    holdMs: 200,
    recentMs: 10_000,
    maxEntries: 100,
    deliver: (event, target) => delivered.push(`${target}:${event.type === "message.created" ? event.message.seq : event.type}`),
    fetch: async (conversationId, after, before, since) => {
      fetches.push([after, before, since?.toISOString() ?? null]);
      if (options.gated) await new Promise<void>((resolve) => gates.push(resolve));
      return stored.filter(
        (e) => e.message.conversationId === conversationId && e.message.seq > after && e.message.seq < before &&
          (since === null || Date.parse(e.message.createdAt) >= since.getTime()),
      );
    },
    onError: (err) => {
      throw err;
    },
    onHeld: () => counts.held++,
    onFetched: (n) => (counts.fetched += n),
    onDropped: () => counts.dropped++,
  });
  return { orderer, delivered, fetches, counts, answer };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe("delivery in seq order", () => {
  it("delivers the next seq at once, holds one after a gap until the gap arrives, drops repeats", () => {
    const { orderer, delivered, counts } = world();
    orderer.joined("buyer");
    orderer.accept(created(1, 10, null), "buyer");
    orderer.accept(created(3, 30), "buyer");
    expect(delivered).toEqual(["buyer:1"]);
    orderer.accept(created(2, 20), "buyer");
    expect(delivered).toEqual(["buyer:1", "buyer:2", "buyer:3"]);
    orderer.accept(created(2, 20), "buyer");
    expect(delivered).toHaveLength(3);
    expect(counts).toEqual({ held: 1, fetched: 0, dropped: 1 });
  });

  it("fetches a gap that does not arrive within the wait, then drops the late copy", async () => {
    const stored = [created(2, 20)];
    const { orderer, delivered, fetches, counts } = world(stored);
    orderer.joined("buyer");
    orderer.accept(created(1, 10, null), "buyer");
    orderer.accept(created(3, 30), "buyer");
    orderer.accept(created(4, 40), "buyer");
    await vi.advanceTimersByTimeAsync(199);
    expect(delivered).toEqual(["buyer:1"]);
    await vi.advanceTimersByTimeAsync(1);
    expect(fetches).toEqual([[1, 4, null]]);
    expect(delivered).toEqual(["buyer:1", "buyer:2", "buyer:3", "buyer:4"]);
    orderer.accept(created(2, 20), "buyer");
    orderer.accept(created(5, 50), "buyer");
    expect(delivered.slice(4)).toEqual(["buyer:5"]);
    expect(counts).toEqual({ held: 2, fetched: 1, dropped: 1 });
  });

  it("a message that comes in during a gap fetch past a new gap waits for that gap too", async () => {
    const stored = [created(2, 20), created(4, 40)];
    const { orderer, delivered, fetches, answer } = world(stored, { gated: true });
    orderer.joined("buyer");
    orderer.accept(created(1, 10, null), "buyer");
    orderer.accept(created(3, 30), "buyer");
    await vi.advanceTimersByTimeAsync(200);
    expect(fetches).toEqual([[1, 3, null]]);
    // 5 arrives while the fetch for 2 is running (4 still missing).
    orderer.accept(created(5, 50), "buyer");
    answer();
    await vi.advanceTimersByTimeAsync(0);
    expect(delivered).toEqual(["buyer:1", "buyer:2", "buyer:3"]);
    orderer.accept(created(4, 40), "buyer");
    expect(delivered).toEqual(["buyer:1", "buyer:2", "buyer:3", "buyer:4", "buyer:5"]);
  });

  it("a gap past the fetched range that never arrives is fetched in turn", async () => {
    const stored = [created(2, 20), created(4, 40)];
    const { orderer, delivered, fetches, answer } = world(stored, { gated: true });
    orderer.joined("buyer");
    orderer.accept(created(1, 10, null), "buyer");
    orderer.accept(created(3, 30), "buyer");
    await vi.advanceTimersByTimeAsync(200);
    orderer.accept(created(5, 50), "buyer");
    answer();
    await vi.advanceTimersByTimeAsync(200);
    expect(fetches).toEqual([[1, 3, null], [3, 5, null]]);
    answer();
    await vi.advanceTimersByTimeAsync(0);
    expect(delivered).toEqual(["buyer:1", "buyer:2", "buyer:3", "buyer:4", "buyer:5"]);
  });

  it("keeps each user's copies apart and other events untouched", () => {
    const { orderer, delivered } = world();
    orderer.joined("buyer");
    orderer.joined("seller");
    orderer.accept(created(1, 10, null), "buyer");
    orderer.accept(created(3, 30), "seller"); // first seen by the seller's copy: previous recent, held
    orderer.accept({ type: "message.read", to: ["buyer", "seller"], payload: {} as never }, "seller");
    orderer.accept(created(2, 20), "buyer");
    expect(delivered).toEqual(["buyer:1", "seller:message.read", "buyer:2"]);
  });

  it("first message seen of a conversation: delivered at once when its predecessor is old or older than the user's arrival here", () => {
    const { orderer, delivered } = world();
    vi.setSystemTime(T0 + 60_000);
    orderer.joined("buyer"); // joined at +60 s
    orderer.accept(created(7, 61_000, 59_000, "old-before-join"), "buyer");
    orderer.accept(created(9, 61_000, 30_000, "old"), "buyer");
    expect(delivered).toEqual(["buyer:7", "buyer:9"]);
  });

  it("first message seen with a recent predecessor stored after the user arrived: waits, then fetches only what was stored since", async () => {
    const stored = [created(4, 59_000, 58_000), created(5, 60_500, 59_000)];
    const { orderer, delivered, fetches } = world(stored);
    vi.setSystemTime(T0 + 60_000);
    orderer.joined("buyer");
    orderer.accept(created(6, 61_000, 60_500), "buyer");
    expect(delivered).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(fetches).toEqual([[0, 6, at(60_000)]]);
    // seq 4 was stored before the user's sockets arrived: theirs to fetch, not to be pushed.
    expect(delivered).toEqual(["buyer:5", "buyer:6"]);
  });

  it("a user who left and came back starts fresh: nothing fetched for the time away", () => {
    const { orderer, delivered, fetches } = world();
    orderer.joined("buyer");
    orderer.accept(created(1, 10, null), "buyer");
    orderer.left("buyer");
    vi.setSystemTime(T0 + 120_000);
    orderer.joined("buyer");
    orderer.accept(created(9, 130_000, 100_000), "buyer");
    expect(delivered).toEqual(["buyer:1", "buyer:9"]);
    expect(fetches).toEqual([]);
  });
});
