// Attachments in messages and their downloads: message types, ownership of uploads, who may fetch
// the bytes (signature, uploader, participants; everyone else not_found), HTTP caching and
// ranges, unsend deleting the bytes, and the sweep of uploads never sent.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { AttachmentRepository } from "../src/db/attachment-repository.js";
import { createUrlSigner } from "../src/media/url-signer.js";
import { auth, makeConversation, pushUser, startApp, type TestEnv } from "./support/app.js";
import { multipartBody, type FilePart } from "./support/multipart.js";
import { TEST_SECRET, adminToken, token } from "./support/tokens.js";
import { uniqueName } from "./support/env.js";
import { useUploadApp } from "./support/upload-app.js";
import { storedObjectNames } from "./support/stored-objects.js";

const fixture = useUploadApp("attachments");
let env: TestEnv;
let app: FastifyInstance;
let uploadDir: string;
let db: pg.Pool;
beforeAll(() => {
  ({ env, app, uploadDir, db } = fixture);
});

interface AttachmentJson {
  id: string;
  kind: string;
  mimeType: string;
  name: string;
  size: number;
  width?: number;
  height?: number;
  url: string;
  thumbnailUrl?: string;
}

const photo = (seed: number) =>
  sharp({ create: { width: 320 + seed, height: 240, channels: 3, noise: { type: "gaussian", mean: 100 + seed, sigma: 30 }, background: "#000" } })
    .jpeg()
    .toBuffer();
const pdf = () => Buffer.concat([Buffer.from("%PDF-1.4\n"), Buffer.alloc(3000, 0x41), Buffer.from("\n%%EOF\n")]);

async function uploadAs(jwt: string, files: FilePart[], target: FastifyInstance = app): Promise<AttachmentJson[]> {
  const body = await multipartBody(files);
  const res = await target.inject({ method: "POST", url: "/api/uploads", headers: { ...auth(jwt), ...body.headers }, payload: body.payload });
  if (res.statusCode !== 201) throw new Error(`upload ${res.statusCode} ${res.body}`);
  return res.json().attachments;
}

const send = (jwt: string, conversationId: string, body: Record<string, unknown>) =>
  app.inject({ method: "POST", url: `/api/conversations/${conversationId}/messages`, headers: auth(jwt), payload: { clientId: randomUUID(), ...body } });

const get = (url: string, headers: Record<string, string> = {}, target: FastifyInstance = app) =>
  target.inject({ method: "GET", url, headers });

const plain = (url: string) => url.split("?")[0]!;

/** Stored objects (outside staging; in the s3 project, the bucket's). */
const storedObjects = () => storedObjectNames(env.storage, uploadDir);

describe("messages with attachments", () => {
  it("types messages by their attachments: image, file, mixed (and text + images is mixed)", async () => {
    const c = await makeConversation(app);
    const [img] = await uploadAs(c.buyerToken, [{ name: "a.jpg", data: await photo(1) }]);
    const [doc] = await uploadAs(c.buyerToken, [{ name: "invoice.pdf", data: pdf() }]);
    const [img2, doc2] = await uploadAs(c.buyerToken, [
      { name: "b.jpg", data: await photo(2) },
      { name: "terms.pdf", data: pdf() },
    ]);
    const [img3] = await uploadAs(c.buyerToken, [{ name: "c.jpg", data: await photo(3) }]);

    const image = await send(c.buyerToken, c.conversationId, { attachmentIds: [img!.id] });
    expect(image.statusCode, image.body).toBe(201);
    expect(image.json()).toMatchObject({ type: "image", content: null, attachments: [{ id: img!.id, kind: "image", mimeType: "image/jpeg" }] });
    const file = await send(c.buyerToken, c.conversationId, { attachmentIds: [doc!.id] });
    expect(file.json()).toMatchObject({ type: "file", attachments: [{ id: doc!.id, kind: "file", name: "invoice.pdf" }] });
    const mixed = await send(c.buyerToken, c.conversationId, { attachmentIds: [doc2!.id, img2!.id] });
    expect(mixed.json().type).toBe("mixed");
    expect(mixed.json().attachments.map((a: AttachmentJson) => a.id)).toEqual([doc2!.id, img2!.id]);
    const captioned = await send(c.buyerToken, c.conversationId, { content: "the scratch", attachmentIds: [img3!.id] });
    expect(captioned.json()).toMatchObject({ type: "mixed", content: "the scratch" });
  });

  it("sends six photos with a caption in one message, in the order given, each with its signed URLs", async () => {
    const c = await makeConversation(app);
    const first = await send(c.buyerToken, c.conversationId, { content: "Can I see more photos?" });
    expect(first.statusCode).toBe(201);
    const photos = await uploadAs(
      c.sellerToken,
      await Promise.all([1, 2, 3, 4, 5, 6].map(async (i) => ({ name: `item-${i}.jpg`, data: await photo(i) }))),
    );
    const ids = photos.map((p) => p.id).reverse();
    const res = await send(c.sellerToken, c.conversationId, { content: "Here they are", attachmentIds: ids });
    expect(res.statusCode, res.body).toBe(201);
    const message = res.json();
    expect(message.type).toBe("mixed");
    expect(message.attachments.map((a: AttachmentJson) => a.id)).toEqual(ids);
    for (const a of message.attachments as AttachmentJson[]) {
      expect(a).toMatchObject({ kind: "image", width: expect.any(Number), height: 240, url: expect.stringContaining("sig="), thumbnailUrl: expect.stringContaining("sig=") });
      expect((await get(a.thumbnailUrl!)).statusCode).toBe(200);
    }
    const history = await get(`/api/conversations/${c.conversationId}/messages`, auth(c.buyerToken));
    expect(history.json().items[1].attachments.map((a: AttachmentJson) => a.id)).toEqual(ids);
  });

  it("refuses someone else's upload, an unknown id and an upload already used, with validation_failed", async () => {
    const c = await makeConversation(app);
    const [theirs] = await uploadAs(c.sellerToken, [{ name: "x.pdf", data: pdf() }]);
    const notMine = await send(c.buyerToken, c.conversationId, { attachmentIds: [theirs!.id] });
    expect(notMine.statusCode).toBe(400);
    expect(notMine.json().error.code).toBe("validation_failed");
    const unknown = await send(c.buyerToken, c.conversationId, { attachmentIds: [randomUUID()] });
    expect(unknown.json().error.code).toBe("validation_failed");

    const [mine] = await uploadAs(c.buyerToken, [{ name: "y.pdf", data: pdf() }]);
    expect((await send(c.buyerToken, c.conversationId, { attachmentIds: [mine!.id] })).statusCode).toBe(201);
    const other = await makeConversation(app, uniqueName("again"));
    const again = await send(token(c.buyer), other.conversationId, { attachmentIds: [mine!.id] });
    expect(again.statusCode).toBe(404);
    const reused = await send(c.buyerToken, c.conversationId, { attachmentIds: [mine!.id] });
    expect(reused.statusCode).toBe(400);
    expect(reused.json().error).toEqual({ code: "validation_failed", message: expect.stringContaining("already used"), requestId: expect.any(String) });
    const { rows } = await db.query("SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1", [c.conversationId]);
    expect(rows[0].n).toBe(1);
  });
});

describe("downloads", () => {
  it("admits a valid signature without a header; the uploader and both participants with a token; everyone else gets not_found", async () => {
    const c = await makeConversation(app);
    const stranger = uniqueName("stranger");
    await pushUser(app, stranger);
    const [a] = await uploadAs(c.buyerToken, [{ name: "p.jpg", data: await photo(7) }]);
    const bare = plain(a!.url);

    // Before it is sent: the uploader only.
    expect((await get(bare, auth(c.buyerToken))).statusCode).toBe(200);
    expect((await get(bare, auth(c.sellerToken))).statusCode).toBe(404);

    expect((await send(c.buyerToken, c.conversationId, { attachmentIds: [a!.id] })).statusCode).toBe(201);
    expect((await get(a!.url)).statusCode).toBe(200);
    expect((await get(a!.thumbnailUrl!)).statusCode).toBe(200);
    expect((await get(bare, auth(c.buyerToken))).statusCode).toBe(200);
    expect((await get(bare, auth(c.sellerToken))).statusCode).toBe(200);
    expect((await get(`${bare}/thumbnail`, auth(c.sellerToken))).statusCode).toBe(200);

    for (const res of [
      await get(bare, auth(token(stranger))),
      await get(`${bare}/thumbnail`, auth(token(stranger))),
      await get(bare, auth(adminToken())),
      await get(`/api/attachments/${randomUUID()}`, auth(c.buyerToken)),
      await get("/api/attachments/not-a-uuid", auth(c.buyerToken)),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: { code: "not_found", message: expect.any(String), requestId: expect.any(String) } });
      expect(res.headers.etag).toBeUndefined();
    }
    expect((await get(bare, { authorization: "Bearer nope" })).statusCode).toBe(401);
    // Neither a signature nor a token: not authenticated, whether the id exists or not.
    for (const url of [bare, `${bare}/thumbnail`, `/api/attachments/${randomUUID()}`]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(401);
      expect(res.json().error.code).toBe("unauthorized");
    }
  });

  it("refuses a tampered, expired, or borrowed signature", async () => {
    const c = await makeConversation(app);
    const [a, b] = await uploadAs(c.buyerToken, [
      { name: "a.jpg", data: await photo(8) },
      { name: "b.jpg", data: await photo(9) },
    ]);
    expect((await send(c.buyerToken, c.conversationId, { attachmentIds: [a!.id, b!.id] })).statusCode).toBe(201);
    const url = new URL(a!.url, "http://x");
    const sig = url.searchParams.get("sig")!;
    const expires = Number(url.searchParams.get("expires"));
    const tamperedSig = `${plain(a!.url)}?expires=${expires}&sig=${sig.slice(0, -2)}${sig.endsWith("AA") ? "BB" : "AA"}`;
    const laterExpiry = `${plain(a!.url)}?expires=${expires + 3600}&sig=${sig}`;
    const otherFile = `${plain(b!.url)}?expires=${expires}&sig=${sig}`;
    const thumbWithMainSig = `${plain(a!.url)}/thumbnail?expires=${expires}&sig=${sig}`;
    const expired = createUrlSigner(TEST_SECRET, 60).sign(plain(a!.url), Date.now() - 2 * 60_000);
    const otherSecret = createUrlSigner(`${TEST_SECRET}-other`, 600).sign(plain(a!.url));
    // Without a token, a signature that is not valid leaves the request unauthenticated: 401.
    for (const bad of [tamperedSig, laterExpiry, otherFile, thumbWithMainSig, expired, otherSecret, plain(a!.url)]) {
      const res = await get(bad);
      expect(res.statusCode, bad).toBe(401);
    }
    // A bad signature does not stand in the way of a good token.
    expect((await get(tamperedSig, auth(c.sellerToken))).statusCode).toBe(200);
    // A fresh signature made with the service's secret works from anywhere.
    expect((await get(createUrlSigner(TEST_SECRET, 60).sign(plain(a!.url)))).statusCode).toBe(200);
  });

  it("serves the right headers: type, length, ETag with 304, private caching, nosniff, and a download disposition for files", async () => {
    const c = await makeConversation(app);
    const [img, doc] = await uploadAs(c.buyerToken, [
      { name: "front.jpg", data: await photo(4) },
      { name: "Facture n°12 «été».pdf", data: pdf() },
    ]);
    const image = await get(img!.url);
    expect(image.headers).toMatchObject({
      "content-type": "image/jpeg",
      "content-length": String(img!.size),
      "cache-control": expect.stringMatching(/^private, max-age=\d+$/),
      "x-content-type-options": "nosniff",
      "accept-ranges": "bytes",
      etag: expect.stringMatching(/^"[^"]+"$/),
    });
    expect(image.headers["content-disposition"]).toMatch(/^inline; filename="front\.jpg"/);
    const again = await get(img!.url, { "if-none-match": image.headers.etag as string });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload.length).toBe(0);
    expect(again.headers.etag).toBe(image.headers.etag);
    expect((await get(img!.url, { "if-none-match": '"something-else"' })).statusCode).toBe(200);
    const thumb = await get(img!.thumbnailUrl!);
    expect(thumb.headers.etag).not.toBe(image.headers.etag);

    const file = await get(doc!.url);
    expect(file.statusCode).toBe(200);
    expect(file.headers["content-type"]).toBe("application/pdf");
    expect(file.headers["x-content-type-options"]).toBe("nosniff");
    expect(file.headers["content-disposition"]).toBe(
      `attachment; filename="Facture n_12 __t__.pdf"; filename*=UTF-8''${encodeURIComponent("Facture n°12 «été».pdf")}`,
    );
    expect(file.rawPayload.equals(pdf())).toBe(true);
    expect((await get(`${plain(doc!.url)}/thumbnail`, auth(c.buyerToken))).statusCode).toBe(404);

    const head = await app.inject({ method: "HEAD", url: doc!.url });
    expect(head.statusCode).toBe(200);
    expect(head.headers["content-length"]).toBe(String(pdf().length));
    expect(head.rawPayload.length).toBe(0);
  });

  it("serves byte ranges: 206 with Content-Range, suffix ranges, 416 past the end, and the whole file for a stale If-Range", async () => {
    const c = await makeConversation(app);
    const [doc] = await uploadAs(c.buyerToken, [{ name: "r.pdf", data: pdf() }]);
    const bytes = pdf();
    const size = bytes.length;
    const first = await get(doc!.url, { range: "bytes=0-99" });
    expect(first.statusCode).toBe(206);
    expect(first.headers["content-range"]).toBe(`bytes 0-99/${size}`);
    expect(first.headers["content-length"]).toBe("100");
    expect(first.rawPayload.equals(bytes.subarray(0, 100))).toBe(true);
    const tail = await get(doc!.url, { range: "bytes=-10" });
    expect(tail.statusCode).toBe(206);
    expect(tail.rawPayload.equals(bytes.subarray(size - 10))).toBe(true);
    const open = await get(doc!.url, { range: `bytes=${size - 5}-` });
    expect(open.rawPayload.equals(bytes.subarray(size - 5))).toBe(true);
    const beyond = await get(doc!.url, { range: `bytes=${size}-` });
    expect(beyond.statusCode).toBe(416);
    expect(beyond.headers["content-range"]).toBe(`bytes */${size}`);
    expect(beyond.json().error.code).toBe("validation_failed");
    const stale = await get(doc!.url, { range: "bytes=0-9", "if-range": '"old"' });
    expect(stale.statusCode).toBe(200);
    expect(stale.rawPayload.length).toBe(size);
    const several = await get(doc!.url, { range: "bytes=0-1,5-6" });
    expect(several.statusCode).toBe(200);
  });

  it("unsend deletes the bytes: the signed URLs and tokens get not_found, and the files leave the disk", async () => {
    const c = await makeConversation(app);
    const [img, doc] = await uploadAs(c.buyerToken, [
      { name: "gone.jpg", data: await photo(5) },
      { name: "gone.pdf", data: pdf() },
    ]);
    const before = await storedObjects();
    const mine = [`${img!.id}.jpg`, `${img!.id}.thumb.jpg`, `${doc!.id}.pdf`];
    expect(before).toEqual(expect.arrayContaining(mine));
    const sent = await send(c.buyerToken, c.conversationId, { content: "oops", attachmentIds: [img!.id, doc!.id] });
    const del = await app.inject({ method: "DELETE", url: `/api/messages/${sent.json().id}`, headers: auth(c.buyerToken) });
    expect(del.statusCode).toBe(204);
    for (const url of [img!.url, img!.thumbnailUrl!, doc!.url]) expect((await get(url)).statusCode).toBe(404);
    expect((await get(plain(img!.url), auth(c.buyerToken))).statusCode).toBe(404);
    await expect.poll(async () => (await storedObjects()).filter((f) => mine.includes(f)), { timeout: 5000 }).toEqual([]);
  });
});

describe("uploads never sent", () => {
  it("are swept after UPLOAD_ORPHAN_TTL_MS, rows and bytes, while sent ones stay", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mc-sweep-"));
    const { app: sweeping } = await startApp(env, { UPLOAD_DIR: dir, UPLOAD_ORPHAN_TTL_MS: "1000", UPLOAD_SWEEP_INTERVAL_MS: "200" });
    try {
      const c = await makeConversation(sweeping);
      const [kept, orphan] = await uploadAs(c.buyerToken, [
        { name: "kept.pdf", data: pdf() },
        { name: "orphan.pdf", data: pdf() },
      ], sweeping);
      const sent = await sweeping.inject({
        method: "POST",
        url: `/api/conversations/${c.conversationId}/messages`,
        headers: auth(c.buyerToken),
        payload: { clientId: randomUUID(), attachmentIds: [kept!.id] },
      });
      expect(sent.statusCode).toBe(201);
      await expect.poll(async () => (await get(orphan!.url, {}, sweeping)).statusCode, { timeout: 10_000 }).toBe(404);
      const files = await storedObjectNames(env.storage, dir);
      expect(files.some((f) => f.includes(orphan!.id))).toBe(false);
      expect(files.some((f) => f.includes(kept!.id))).toBe(true);
      expect((await get(kept!.url, {}, sweeping)).statusCode).toBe(200);
    } finally {
      await sweeping.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("splits the work between nodes sweeping at the same moment: every orphan deleted exactly once", async () => {
    const owner = uniqueName("sweep-owner");
    await pushUser(app, owner);
    const ids = Array.from({ length: 60 }, () => randomUUID());
    await db.query(
      `INSERT INTO attachments (id, uploader_id, kind, mime_type, name, size, storage_key, created_at)
       SELECT id, $1, 'file', 'application/pdf', 'x.pdf', 1, substr(id::text, 1, 2) || '/' || id::text || '.pdf', now() - interval '2 days'
       FROM unnest($2::uuid[]) AS id`,
      [owner, ids],
    );
    const nodes = [new pg.Pool({ connectionString: env.databaseUrl, max: 1 }), new pg.Pool({ connectionString: env.databaseUrl, max: 1 })];
    try {
      const runs = await Promise.all(
        [0, 1, 0, 1, 0, 1].map((n) => new AttachmentRepository(nodes[n]!).deleteOrphans(24 * 3_600_000, 25)),
      );
      const keys = runs.flatMap((r) => r.keys).filter((k) => ids.some((id) => k.includes(id)));
      expect(keys.length).toBe(60);
      expect(new Set(keys).size).toBe(60);
      const { rows } = await db.query("SELECT count(*)::int AS n FROM attachments WHERE uploader_id = $1", [owner]);
      expect(rows[0].n).toBe(0);
    } finally {
      await Promise.all(nodes.map((p) => p.end()));
    }
  });
});
