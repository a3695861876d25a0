// STORAGE=s3 (README, "Object storage"): two real node processes that share no disk (each its own
// UPLOAD_DIR, used only for staging) and one S3 protocol server (s3rver) started by the test.
// Uploaded on node A, served by node B through the same route as local storage (Range, ETag,
// HEAD, thumbnails, signatures); unsend deletes the objects; the orphan sweep deletes them too.
import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "./support/app.js";
import { startNode, type NodeProcess } from "./support/cluster.js";
import { startS3Server, type S3Server } from "./support/s3-server.js";
import { httpJson } from "./support/two-nodes.js";
import { serviceToken, token } from "./support/tokens.js";

interface AttachmentJson {
  id: string;
  kind: string;
  size: number;
  url: string;
  thumbnailUrl?: string;
}

let env: TestEnv;
let s3: S3Server;
let a: NodeProcess;
let b: NodeProcess;
const dirs: string[] = [];
const extra: NodeProcess[] = [];

async function nodeOnS3(name: string, more: Record<string, string> = {}): Promise<NodeProcess> {
  const dir = await mkdtemp(join(tmpdir(), `mc-${name}-`));
  dirs.push(dir);
  return startNode(env, name, { ...s3.env, UPLOAD_DIR: dir, UPLOAD_MAX_FILE_BYTES: String(24 * 1024 * 1024), ...more });
}

beforeAll(async () => {
  env = await createTestEnv();
  s3 = await startS3Server();
  [a, b] = await Promise.all([nodeOnS3("s3-node-a"), nodeOnS3("s3-node-b")]);
});
afterAll(async () => {
  await Promise.all([a, b, ...extra].filter(Boolean).map((n) => n.stop()));
  await s3?.close().catch(() => undefined);
  await env?.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const photo = () =>
  sharp({ create: { width: 640, height: 480, channels: 3, noise: { type: "gaussian", mean: 120, sigma: 30 }, background: "#000" } })
    .jpeg()
    .toBuffer();
const pdf = (bytes: number) => Buffer.concat([Buffer.from("%PDF-1.4\n"), Buffer.alloc(bytes, 0x41), Buffer.from("\n%%EOF\n")]);

async function upload(node: NodeProcess, jwt: string, files: { name: string; data: Buffer; type: string }[]): Promise<AttachmentJson[]> {
  const form = new FormData();
  for (const f of files) form.append("file", new Blob([f.data], { type: f.type }), f.name);
  const res = await fetch(`${node.url}/api/uploads`, { method: "POST", headers: { authorization: `Bearer ${jwt}` }, body: form });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { attachments: AttachmentJson[] }).attachments;
}

const get = (node: NodeProcess, url: string, headers: Record<string, string> = {}, method = "GET") =>
  fetch(new URL(url, node.url), { method, headers });

async function conversation(tag: string) {
  const buyer = `b-${tag}`;
  const seller = `s-${tag}`;
  await httpJson(a, "PUT", `/api/internal/users/${seller}`, serviceToken(), { name: "Seller" });
  await httpJson(a, "PUT", `/api/internal/listings/l-${tag}`, serviceToken(), { sellerId: seller, title: "Lamp" });
  const opened = await httpJson(a, "POST", "/api/conversations", token(buyer), { listingId: `l-${tag}` });
  expect(opened.status).toBe(201);
  return { buyer, seller, id: opened.body.id as string };
}

/** Files under a node's UPLOAD_DIR outside staging: none, when the bytes live in S3. */
async function localObjects(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && !join(e.parentPath, e.name).includes(".staging")).map((e) => e.name);
}

describe("STORAGE=s3 with two nodes sharing no disk", () => {
  it("an image uploaded on node A is served by node B: original, thumbnail, Range, ETag, HEAD; nothing on either disk", async () => {
    const c = await conversation("img");
    const bytes = await photo();
    const [img] = await upload(a, token(c.buyer), [{ name: "lamp.jpg", data: bytes, type: "image/jpeg" }]);
    expect(img).toMatchObject({ kind: "image", url: expect.stringContaining("sig="), thumbnailUrl: expect.stringContaining("sig=") });
    expect(await s3.keys()).toEqual(expect.arrayContaining([`${img!.id.slice(0, 2)}/${img!.id}.jpg`, `${img!.id.slice(0, 2)}/${img!.id}.thumb.jpg`]));
    for (const dir of dirs) expect(await localObjects(dir)).toEqual([]);

    const whole = await get(b, img!.url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get("content-type")).toBe("image/jpeg");
    const body = Buffer.from(await whole.arrayBuffer());
    expect(body.length).toBe(img!.size);
    expect(Number(whole.headers.get("content-length"))).toBe(body.length);
    expect((await sharp(body).metadata()).format).toBe("jpeg");
    // The same bytes from node A.
    expect(Buffer.from(await (await get(a, img!.url)).arrayBuffer()).equals(body)).toBe(true);

    const part = await get(b, img!.url, { range: "bytes=10-99" });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 10-99/${body.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(body.subarray(10, 100))).toBe(true);
    const tail = await get(b, img!.url, { range: "bytes=-5" });
    expect(Buffer.from(await tail.arrayBuffer()).equals(body.subarray(body.length - 5))).toBe(true);
    expect((await get(b, img!.url, { range: `bytes=${body.length + 10}-` })).status).toBe(416);

    const etag = whole.headers.get("etag")!;
    expect((await get(b, img!.url, { "if-none-match": etag })).status).toBe(304);
    const head = await get(b, img!.url, {}, "HEAD");
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("content-length"))).toBe(body.length);

    const thumb = await get(b, img!.thumbnailUrl!);
    expect(thumb.status).toBe(200);
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(400);
    // The participant's token works on node B as well; a stranger's does not.
    const plain = img!.url.split("?")[0]!;
    expect((await get(b, plain, { authorization: `Bearer ${token(c.buyer)}` })).status).toBe(200);
    expect((await get(b, plain, { authorization: `Bearer ${token("stranger")}` })).status).toBe(404);
  });

  it("a file larger than one part goes up as a multipart upload and comes back byte for byte", async () => {
    const c = await conversation("big");
    // 9 MB: two parts of the 8 MB multipart threshold.
    const bytes = pdf(9 * 1024 * 1024);
    const [doc] = await upload(a, token(c.buyer), [{ name: "manual.pdf", data: bytes, type: "application/pdf" }]);
    const res = await get(b, doc!.url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    const part = await get(b, doc!.url, { range: `bytes=${8 * 1024 * 1024 - 3}-${8 * 1024 * 1024 + 3}` });
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(8 * 1024 * 1024 - 3, 8 * 1024 * 1024 + 4))).toBe(true);
  });

  it("unsending on node B deletes the objects from the store; the URLs answer not_found on both nodes", async () => {
    const c = await conversation("unsend");
    const [img, doc] = await upload(a, token(c.buyer), [
      { name: "gone.jpg", data: await photo(), type: "image/jpeg" },
      { name: "gone.pdf", data: pdf(2000), type: "application/pdf" },
    ]);
    const sent = await httpJson(a, "POST", `/api/conversations/${c.id}/messages`, token(c.buyer), { clientId: randomUUID(), attachmentIds: [img!.id, doc!.id] });
    expect(sent.status).toBe(201);
    const mine = (keys: string[]) => keys.filter((k) => k.includes(img!.id) || k.includes(doc!.id));
    expect(mine(await s3.keys())).toHaveLength(3);
    expect((await httpJson(b, "DELETE", `/api/messages/${sent.body.id}`, token(c.buyer))).status).toBe(204);
    await expect.poll(async () => mine(await s3.keys())).toEqual([]);
    for (const node of [a, b]) for (const url of [img!.url, img!.thumbnailUrl!, doc!.url]) expect((await get(node, url)).status).toBe(404);
  });

  it("the orphan sweep deletes uploads never sent from the store, and keeps sent ones", async () => {
    const c = await conversation("sweep");
    const [kept, orphan] = await upload(a, token(c.buyer), [
      { name: "kept.pdf", data: pdf(1000), type: "application/pdf" },
      { name: "orphan.pdf", data: pdf(1000), type: "application/pdf" },
    ]);
    const sent = await httpJson(a, "POST", `/api/conversations/${c.id}/messages`, token(c.buyer), { clientId: randomUUID(), attachmentIds: [kept!.id] });
    expect(sent.status).toBe(201);
    // A third node that sweeps uploads older than 1 s (every upload before it started).
    extra.push(await nodeOnS3("s3-node-sweeper", { UPLOAD_ORPHAN_TTL_MS: "1000", UPLOAD_SWEEP_INTERVAL_MS: "200" }));
    await expect.poll(async () => (await s3.keys()).some((k) => k.includes(orphan!.id))).toBe(false);
    expect((await s3.keys()).some((k) => k.includes(kept!.id))).toBe(true);
    expect((await get(b, orphan!.url)).status).toBe(404);
    expect((await get(b, kept!.url)).status).toBe(200);
  });
});

describe("STORAGE=s3 configuration", () => {
  it("a bucket that does not exist stops start-up with one line naming S3_BUCKET", async () => {
    const failed = await nodeOnS3("s3-no-bucket", { S3_BUCKET: "no-such-bucket" }).then(
      () => null,
      (err: Error) => err.message,
    );
    expect(failed).toMatch(/exited with 1/);
    expect(failed).toMatch(/Invalid configuration: S3_BUCKET names a bucket that does not exist/);
  });
});

describe("the object store away", () => {
  it("uploads and downloads answer 503 unavailable (not internal), chat keeps working, nothing is left in staging", async () => {
    const c = await conversation("down");
    const [doc] = await upload(a, token(c.buyer), [{ name: "before.pdf", data: pdf(1000), type: "application/pdf" }]);
    await s3.close();
    const down = await get(b, doc!.url);
    expect(down.status).toBe(503);
    expect(((await down.json()) as { error: { code: string } }).error.code).toBe("unavailable");
    const form = new FormData();
    form.append("file", new Blob([pdf(1000)], { type: "application/pdf" }), "during.pdf");
    const refused = await fetch(`${a.url}/api/uploads`, { method: "POST", headers: { authorization: `Bearer ${token(c.buyer)}` }, body: form });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("unavailable");
    const sent = await httpJson(a, "POST", `/api/conversations/${c.id}/messages`, token(c.buyer), { clientId: randomUUID(), content: "still here" });
    expect(sent.status).toBe(201);
    for (const dir of dirs) expect(await readdir(join(dir, ".staging")).catch(() => [])).toEqual([]);
  });
});
