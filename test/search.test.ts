// GET /api/search: full text over the caller's own conversations, newest first, keyset pages,
// highlight as escaped HTML with <mark>.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { SearchRepository } from "../src/db/search-repository.js";
import { endsWithPrefixableWord, toHtml } from "../src/chat/search-service.js";
import { auth, makeConversation, pushListing, pushUser, useTestApp } from "./support/app.js";
import { adminToken, serviceToken } from "./support/tokens.js";

const fixture = useTestApp();
let app: FastifyInstance;
beforeAll(() => {
  ({ app } = fixture);
});

type Hit = { message: { id: string; content: string | null; conversationId: string; seq: number }; highlight: string };
type SearchPage = { items: Hit[]; nextCursor: string | null };

async function send(jwt: string, conversationId: string, content: string) {
  const res = await app.inject({
    method: "POST",
    url: `/api/conversations/${conversationId}/messages`,
    headers: auth(jwt),
    payload: { clientId: randomUUID(), content },
  });
  expect(res.statusCode).toBe(201);
  return res.json() as Hit["message"];
}

function search(jwt: string, query: Record<string, string | number>) {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
  return app.inject({ method: "GET", url: `/api/search?${qs}`, headers: auth(jwt) });
}

async function found(jwt: string, query: Record<string, string | number>): Promise<SearchPage> {
  const res = await search(jwt, query);
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as SearchPage;
}

describe("matching", () => {
  it("finds messages of the caller's conversations, newest first, as full Message objects with a highlight", async () => {
    const c = await makeConversation(app);
    const first = await send(c.buyerToken, c.conversationId, "Is the mountain bike still available?");
    await send(c.sellerToken, c.conversationId, "Yes it is");
    const third = await send(c.sellerToken, c.conversationId, "The BIKE has new tyres");
    const page = await found(c.buyerToken, { q: "bike" });
    expect(page.items.map((i) => i.message.id)).toEqual([third.id, first.id]);
    expect(page.items[0]!.message).toEqual(third);
    expect(page.items[0]!.highlight).toBe("The <mark>BIKE</mark> has new tyres");
    expect(page.items[1]!.highlight).toBe("Is the mountain <mark>bike</mark> still available?");
    expect(page.nextCursor).toBeNull();
    // The seller sees the same messages from their side.
    expect((await found(c.sellerToken, { q: "bike" })).items.map((i) => i.message.id)).toEqual([third.id, first.id]);
  });

  it("never returns another user's messages; a conversation the caller cannot see is not_found", async () => {
    const mine = await makeConversation(app);
    const theirs = await makeConversation(app);
    await send(mine.buyerToken, mine.conversationId, "zebracorn in my chat");
    await send(theirs.buyerToken, theirs.conversationId, "zebracorn in their chat");
    const page = await found(mine.buyerToken, { q: "zebracorn" });
    expect(page.items.map((i) => i.message.conversationId)).toEqual([mine.conversationId]);
    for (const conversationId of [theirs.conversationId, randomUUID(), "not-a-uuid"]) {
      const res = await search(mine.buyerToken, { q: "zebracorn", conversationId });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: { code: "not_found", message: "Conversation not found", requestId: expect.any(String) } });
    }
    // An admin searches as a user too: their own conversations only.
    expect((await found(adminToken(), { q: "zebracorn" })).items).toEqual([]);
  });

  it("a seller who has not received a first message cannot search that conversation", async () => {
    const c = await makeConversation(app);
    const res = await search(c.sellerToken, { q: "anything", conversationId: c.conversationId });
    expect(res.statusCode).toBe(404);
  });

  it("narrows to one conversation with conversationId", async () => {
    const a = await makeConversation(app);
    // The same buyer in a second conversation, about another seller's listing.
    const otherSeller = `seller2-${randomUUID()}`;
    await pushUser(app, otherSeller);
    await pushListing(app, `listing-${otherSeller}`, otherSeller);
    const open = await app.inject({ method: "POST", url: "/api/conversations", headers: auth(a.buyerToken), payload: { listingId: `listing-${otherSeller}` } });
    expect(open.statusCode).toBe(201);
    const b = open.json().id as string;
    await send(a.buyerToken, a.conversationId, "quokka one");
    await send(a.buyerToken, b, "quokka two");
    expect((await found(a.buyerToken, { q: "quokka" })).items.map((i) => i.message.content)).toEqual(["quokka two", "quokka one"]);
    const page = await found(a.buyerToken, { q: "quokka", conversationId: a.conversationId });
    expect(page.items.map((i) => i.message.content)).toEqual(["quokka one"]);
  });

  it("unsent messages never match", async () => {
    const c = await makeConversation(app);
    const gone = await send(c.buyerToken, c.conversationId, "platypus secret");
    const kept = await send(c.buyerToken, c.conversationId, "platypus public");
    const del = await app.inject({ method: "DELETE", url: `/api/messages/${gone.id}`, headers: auth(c.buyerToken) });
    expect(del.statusCode).toBe(204);
    expect((await found(c.buyerToken, { q: "platypus" })).items.map((i) => i.message.id)).toEqual([kept.id]);
    expect((await found(c.sellerToken, { q: "secret" })).items).toEqual([]);
  });

  it("an edited message matches its new text only", async () => {
    const c = await makeConversation(app);
    const m = await send(c.buyerToken, c.conversationId, "offering 100 for the wombat");
    const edit = await app.inject({ method: "PATCH", url: `/api/messages/${m.id}`, headers: auth(c.buyerToken), payload: { content: "offering 120 for the lamp" } });
    expect(edit.statusCode).toBe(200);
    expect((await found(c.buyerToken, { q: "wombat" })).items).toEqual([]);
    expect((await found(c.buyerToken, { q: "lamp" })).items.map((i) => i.message.id)).toEqual([m.id]);
  });

  it("is case-insensitive in any script and does not stem (the 'simple' configuration)", async () => {
    const c = await makeConversation(app);
    await send(c.buyerToken, c.conversationId, "Велосипед ещё продаётся?");
    await send(c.buyerToken, c.conversationId, "Ist das Fahrrad noch da? Café gleich nebenan");
    expect((await found(c.buyerToken, { q: "ВЕЛОСИПЕД" })).items.map((i) => i.highlight)).toEqual([
      "<mark>Велосипед</mark> ещё продаётся?",
    ]);
    expect((await found(c.buyerToken, { q: "fahrrad café" })).items).toHaveLength(1);
    // No English stemming or stop words: "the" is a word like any other.
    await send(c.buyerToken, c.conversationId, "the lamps");
    expect((await found(c.buyerToken, { q: "the lamps", conversationId: c.conversationId })).items).toHaveLength(1);
  });

  it("matches the last word as a prefix while typing, and supports phrases, or, and -exclusions", async () => {
    const c = await makeConversation(app);
    const red = await send(c.buyerToken, c.conversationId, "red bicycle with a basket");
    const blue = await send(c.buyerToken, c.conversationId, "blue bicycle, no basket");
    const car = await send(c.buyerToken, c.conversationId, "a red car");
    const ids = async (q: string) => (await found(c.buyerToken, { q, conversationId: c.conversationId })).items.map((i) => i.message.id);
    expect(await ids("bicy")).toEqual([blue.id, red.id]);
    expect(await ids("red bicy")).toEqual([red.id]);
    expect(await ids("bicycle -blue")).toEqual([red.id]);
    expect(await ids('"red car"')).toEqual([car.id]);
    expect(await ids('"red bicycle"')).toEqual([red.id]);
    expect(await ids("basket or ca")).toEqual([car.id, blue.id, red.id]);
    // A finished word (followed by a space or punctuation) is matched whole.
    expect(await ids("bicy ")).toEqual([]);
    expect((await found(c.buyerToken, { q: "bicy", conversationId: c.conversationId })).items[0]!.highlight).toBe(
      "blue <mark>bicycle</mark>, no basket",
    );
  });

  it("a query of punctuation only matches nothing", async () => {
    const c = await makeConversation(app);
    await send(c.buyerToken, c.conversationId, "!!! ???");
    expect((await found(c.buyerToken, { q: "!!!" })).items).toEqual([]);
  });
});

describe("highlight", () => {
  it("is HTML: the content is escaped, only <mark> is markup", async () => {
    const c = await makeConversation(app);
    const content = `Price <100€ & "gecko's" <b>gecko</b> <script>alert(1)</script>`;
    await send(c.buyerToken, c.conversationId, content);
    const [hit] = (await found(c.buyerToken, { q: "gecko" })).items;
    expect(hit!.highlight).toBe(
      "Price &lt;100€ &amp; &quot;<mark>gecko</mark>&#39;s&quot; &lt;b&gt;<mark>gecko</mark>&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt;",
    );
    expect(hit!.message.content).toBe(content);
  });

  it("content cannot forge match marks", async () => {
    const c = await makeConversation(app);
    await send(c.buyerToken, c.conversationId, "fake \uE000mark\uE001 around narwhal");
    const [hit] = (await found(c.buyerToken, { q: "narwhal" })).items;
    expect(hit!.highlight).toBe("fake mark around <mark>narwhal</mark>");
  });

  it("shows windows around the matches of a long message", async () => {
    const c = await makeConversation(app);
    const filler = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(" ");
    await send(c.buyerToken, c.conversationId, `${filler(200)} the axolotl is here ${filler(200)}`);
    const [hit] = (await found(c.buyerToken, { q: "axolotl" })).items;
    expect(hit!.highlight).toContain("the <mark>axolotl</mark> is here");
    expect(hit!.highlight.length).toBeLessThan(400);
  });

  it("toHtml escapes before marking", () => {
    expect(toHtml("a<\uE000b\uE001>&")).toBe("a&lt;<mark>b</mark>&gt;&amp;");
  });
});

describe("pages", () => {
  it("walks all results with nextCursor, without repeats, null on the last page", async () => {
    const c = await makeConversation(app);
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push(await send(i % 2 ? c.sellerToken : c.buyerToken, c.conversationId, `capybara number ${i}`));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: SearchPage = await found(c.buyerToken, { q: "capybara", limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((i) => i.message.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(sent.map((m) => m.id).reverse());
  });

  it("a message arriving while paging neither shifts nor repeats the next page", async () => {
    const c = await makeConversation(app);
    const a = await send(c.buyerToken, c.conversationId, "ocelot a");
    const b = await send(c.buyerToken, c.conversationId, "ocelot b");
    const first = await found(c.buyerToken, { q: "ocelot", limit: 1 });
    expect(first.items.map((i) => i.message.id)).toEqual([b.id]);
    await send(c.buyerToken, c.conversationId, "ocelot c");
    const second = await found(c.buyerToken, { q: "ocelot", limit: 1, cursor: first.nextCursor! });
    expect(second.items.map((i) => i.message.id)).toEqual([a.id]);
    expect(second.nextCursor).toBeNull();
  });

  it("hidden conversations drop out of the global search but not out of a search by conversationId", async () => {
    const c = await makeConversation(app);
    await send(c.buyerToken, c.conversationId, "hello");
    await send(c.sellerToken, c.conversationId, "hidden tapir");
    const hide = await app.inject({ method: "DELETE", url: `/api/conversations/${c.conversationId}`, headers: auth(c.buyerToken) });
    expect(hide.statusCode).toBe(204);
    expect((await found(c.buyerToken, { q: "tapir" })).items).toEqual([]);
    expect((await found(c.buyerToken, { q: "tapir", conversationId: c.conversationId })).items).toHaveLength(1);
    // A new message shows the conversation again, with its older messages.
    await send(c.sellerToken, c.conversationId, "another tapir");
    expect((await found(c.buyerToken, { q: "tapir" })).items).toHaveLength(2);
  });
});

describe("bad input", () => {
  it.each([
    [{}, "q is required"],
    [{ q: "" }, "q: must not be empty"],
    [{ q: "   " }, "q: must not be empty"],
    [{ q: "x".repeat(201) }, "q: must be at most 200 characters"],
    [{ q: "ok", limit: 0 }, undefined],
    [{ q: "ok", limit: 51 }, undefined],
    [{ q: "ok", limit: "abc" }, undefined],
    [{ q: "ok", cursor: "garbage" }, "cursor is invalid"],
  ])("%j → 400 validation_failed", async (query, message) => {
    const c = await makeConversation(app);
    const res = await search(c.buyerToken, query as Record<string, string>);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("validation_failed");
    if (message) expect(res.json().error.message).toBe(message);
  });

  it("accepts 200 characters of any script (counted in code points)", async () => {
    const c = await makeConversation(app);
    expect((await search(c.buyerToken, { q: "😀".repeat(200) })).statusCode).toBe(200);
  });

  it("needs a user token", async () => {
    expect((await app.inject({ method: "GET", url: "/api/search?q=x" })).statusCode).toBe(401);
    expect((await search(serviceToken(), { q: "x" })).statusCode).toBe(403);
  });
});

describe("prefix detection", () => {
  it.each([
    ["bik", true],
    ["red bik", true],
    ["b", false],
    ["bike ", false],
    ["bike?", false],
    ["-bike", false],
    ['"red bike"', false],
    ['"red bi', false],
    ["bike or", false],
    ["велос", true],
  ])("%j → %s", (q, expected) => {
    expect(endsWithPrefixableWord(q)).toBe(expected);
  });
});

describe("index", () => {
  it("the search statement can use the GIN expression index", async () => {
    let captured: { sql: string; params: unknown[] } | undefined;
    const recorder = { query: async (sql: string, params: unknown[]) => ((captured = { sql, params }), { rows: [] }) };
    await new SearchRepository(recorder as unknown as pg.Pool).search({ userId: "u", admin: false, text: "bike", prefixLastWord: true, limit: 20 });
    const client = new pg.Client({ connectionString: fixture.env.databaseUrl });
    await client.connect();
    try {
      // Test tables are tiny, so the planner would rightly scan them: forbid that to see whether
      // the index matches the statement's expression at all.
      await client.query("SET enable_seqscan = off");
      const { rows } = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN ${captured!.sql}`, captured!.params);
      expect(rows.map((r) => r["QUERY PLAN"]).join("\n")).toContain("messages_content_search_idx");
    } finally {
      await client.end();
    }
  });
});
