// POST /api/uploads: typing by content, sharp re-encoding (metadata stripped, upright, bounded),
// limits, and bad input that must leave nothing behind (no row, no stored object, no temp file).
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type AddressInfo } from "node:net";
import { crc32 } from "node:zlib";
import pg from "pg";
import sharp from "sharp";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { ImageProcessor } from "../src/media/image-processor.js";
import { auth, pushUser, type TestEnv } from "./support/app.js";
import { multipartBody, rawMultipart, type FilePart } from "./support/multipart.js";
import { token } from "./support/tokens.js";
import { uniqueName } from "./support/env.js";
import { useUploadApp } from "./support/upload-app.js";
import { storedObjectNames, TEST_S3_ENDPOINT } from "./support/stored-objects.js";

const MAX_FILE_BYTES = 2 * 1024 * 1024;
const MAX_REQUEST_BYTES = 3 * 1024 * 1024;

const fixture = useUploadApp("uploads", {
  UPLOAD_MAX_FILE_BYTES: String(MAX_FILE_BYTES),
  UPLOAD_MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES),
});
let env: TestEnv;
let app: FastifyInstance;
let uploadDir: string;
let db: pg.Pool;
beforeAll(() => {
  ({ env, app, uploadDir, db } = fixture);
});
// Whatever a test did, no upload may leave a staging file behind.
afterEach(async () => {
  expect(await stagingEntries()).toEqual([]);
});

async function newUser() {
  const id = uniqueName("uploader");
  await pushUser(app, id);
  return { id, jwt: token(id) };
}

async function upload(jwt: string, body: { payload: Buffer; headers: Record<string, string> }) {
  return app.inject({ method: "POST", url: "/api/uploads", headers: { ...auth(jwt), ...body.headers }, payload: body.payload });
}

const uploadFiles = async (jwt: string, files: FilePart[]) => upload(jwt, await multipartBody(files));

async function download(url: string) {
  return app.inject({ method: "GET", url });
}

async function stagingEntries(): Promise<string[]> {
  return readdir(join(uploadDir, ".staging")).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    throw err;
  });
}

/** Stored objects (outside staging; in the s3 project, the bucket's). */
const storedObjects = () => storedObjectNames(env.storage, uploadDir);

async function rowsOf(userId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM attachments WHERE uploader_id = $1", [userId]);
  return rows[0]!.n;
}

/** Refused: the contract's error, no row for the uploader and no stored object. */
async function expectRefused(res: Awaited<ReturnType<typeof upload>>, status: number, code: string, userId: string, before: string[]) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.json()).toEqual({ error: { code, message: expect.any(String), requestId: expect.any(String) } });
  expect(await rowsOf(userId)).toBe(0);
  expect(await storedObjects()).toEqual(before);
}

const noisy = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, noise: { type: "gaussian", mean: 128, sigma: 40 }, background: "#000" } });

async function photoWithGps(): Promise<Buffer> {
  return noisy(640, 480)
    .jpeg({ quality: 95 })
    .withExif({
      IFD0: { Make: "CanonSecretMake", Model: "EOS 5D", Copyright: "Jane Seller" },
      IFD3: { GPSLatitudeRef: "N", GPSLatitude: "48/1 51/1 2433/100", GPSLongitudeRef: "E", GPSLongitude: "2/1 21/1 714/100" },
    })
    .toBuffer();
}

/** A 400×200 landscape, red on the left and blue on the right, tagged "rotate 90° clockwise". */
async function sidewaysPhoto(): Promise<Buffer> {
  const half = (r: number, b: number) => sharp({ create: { width: 200, height: 200, channels: 3, background: { r, g: 0, b } } }).png().toBuffer();
  return sharp({ create: { width: 400, height: 200, channels: 3, background: "#000" } })
    .composite([
      { input: await half(255, 0), left: 0, top: 0 },
      { input: await half(0, 255), left: 200, top: 0 },
    ])
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

/** A valid PNG whose header claims `width`×`height`: a decompression bomb's calling card. */
async function forgedPng(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await sharp({ create: { width: 1, height: 1, channels: 3, background: "#fff" } }).png().toBuffer());
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

const pdf = (bytes = 2000) => Buffer.concat([Buffer.from("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n", "latin1"), Buffer.alloc(bytes, 0x20), Buffer.from("\n%%EOF\n")]);

describe("images", () => {
  it("re-encodes a JPEG without its EXIF: no GPS, no camera, no copyright; returns 201 { attachments } with a thumbnail", async () => {
    const u = await newUser();
    const original = await photoWithGps();
    expect((await sharp(original).metadata()).exif?.toString("latin1")).toContain("CanonSecretMake");
    const res = await uploadFiles(u.jwt, [{ name: "IMG_0042.JPG", data: original, type: "image/jpeg" }]);
    expect(res.statusCode, res.body).toBe(201);
    const { attachments } = res.json();
    expect(attachments).toEqual([
      {
        id: expect.any(String),
        kind: "image",
        mimeType: "image/jpeg",
        name: "IMG_0042.jpg",
        size: expect.any(Number),
        width: 640,
        height: 480,
        url: expect.stringMatching(/^\/api\/attachments\/[0-9a-f-]{36}\?expires=\d+&sig=[\w-]+$/),
        thumbnailUrl: expect.stringMatching(/^\/api\/attachments\/[0-9a-f-]{36}\/thumbnail\?expires=\d+&sig=[\w-]+$/),
      },
    ]);
    const stored = await download(attachments[0].url);
    expect(stored.statusCode).toBe(200);
    expect(stored.headers["content-type"]).toBe("image/jpeg");
    expect(stored.rawPayload.length).toBe(attachments[0].size);
    const meta = await sharp(stored.rawPayload).metadata();
    expect(meta.exif).toBeUndefined();
    expect(meta.xmp).toBeUndefined();
    expect(meta.iptc).toBeUndefined();
    expect(meta.icc).toBeUndefined();
    for (const secret of ["CanonSecretMake", "Jane Seller", "Exif"]) expect(stored.rawPayload.toString("latin1")).not.toContain(secret);

    const thumb = await download(attachments[0].thumbnailUrl);
    expect(thumb.statusCode).toBe(200);
    const thumbMeta = await sharp(thumb.rawPayload).metadata();
    expect(Math.max(thumbMeta.width!, thumbMeta.height!)).toBe(400);
    expect(thumbMeta.exif).toBeUndefined();
  });

  it("turns a photo with EXIF orientation 6 upright: width and height swap, the left edge becomes the top", async () => {
    const u = await newUser();
    const res = await uploadFiles(u.jwt, [{ name: "sideways.jpg", data: await sidewaysPhoto() }]);
    expect(res.statusCode, res.body).toBe(201);
    const [a] = res.json().attachments;
    expect({ width: a.width, height: a.height }).toEqual({ width: 200, height: 400 });
    const stored = await download(a.url);
    const meta = await sharp(stored.rawPayload).metadata();
    expect({ width: meta.width, height: meta.height, orientation: meta.orientation }).toEqual({ width: 200, height: 400, orientation: undefined });
    const { data, info } = await sharp(stored.rawPayload).raw().toBuffer({ resolveWithObject: true });
    const pixel = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
    const [topR, , topB] = pixel(100, 50);
    const [bottomR, , bottomB] = pixel(100, 350);
    expect(topR).toBeGreaterThan(200);
    expect(topB).toBeLessThan(60);
    expect(bottomB).toBeGreaterThan(200);
    expect(bottomR).toBeLessThan(60);
  });

  it("bounds the long side and keeps the aspect ratio; never enlarges a small image", async () => {
    const u = await newUser();
    const big = await noisy(3000, 1000).jpeg({ quality: 90 }).toBuffer();
    const small = await noisy(120, 90).png().toBuffer();
    const res = await uploadFiles(u.jwt, [
      { name: "wide.jpg", data: big },
      { name: "tiny.png", data: small },
    ]);
    expect(res.statusCode, res.body).toBe(201);
    const [wide, tiny] = res.json().attachments;
    expect({ w: wide.width, h: wide.height }).toEqual({ w: 2048, h: 683 });
    expect({ w: tiny.width, h: tiny.height, mime: tiny.mimeType, name: tiny.name }).toEqual({ w: 120, h: 90, mime: "image/jpeg", name: "tiny.jpg" });
    expect(wide.size).toBeLessThan(big.length);
  });

  it("keeps transparency as WebP; takes PNG, WebP, GIF and AVIF by their bytes, whatever their names", async () => {
    const u = await newUser();
    const clear = { r: 0, g: 0, b: 0, alpha: 0 };
    const res = await uploadFiles(u.jwt, [
      { name: "logo.png", data: await sharp({ create: { width: 64, height: 64, channels: 4, background: clear } }).png().toBuffer() },
      { name: "photo.jpg", data: await noisy(50, 40).webp().toBuffer() },
      { name: "anim.gif", data: await noisy(30, 20).gif().toBuffer() },
      { name: "x.avif", data: await noisy(32, 32).avif().toBuffer() },
    ]);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().attachments.map((a: { mimeType: string; name: string }) => [a.mimeType, a.name])).toEqual([
      ["image/webp", "logo.webp"],
      ["image/jpeg", "photo.jpg"],
      ["image/jpeg", "anim.jpg"],
      ["image/jpeg", "x.jpg"],
    ]);
  });

  it("refuses a PNG with more pixels than UPLOAD_MAX_INPUT_PIXELS (a real one, and a forged header) with payload_too_large", async () => {
    const u = await newUser();
    const before = await storedObjects();
    const huge = await sharp({ create: { width: 10_000, height: 5_100, channels: 3, background: "#fff" } }).png().toBuffer();
    expect(huge.length).toBeLessThan(MAX_FILE_BYTES);
    await expectRefused(await uploadFiles(u.jwt, [{ name: "huge.png", data: huge }]), 413, "payload_too_large", u.id, before);
    const bomb = await forgedPng(100_000, 100_000);
    await expectRefused(await uploadFiles(u.jwt, [{ name: "bomb.png", data: bomb }]), 413, "payload_too_large", u.id, before);
  });

  it("refuses a damaged image (a JPEG cut in half) with unsupported_media_type, and the valid files of the same request too", async () => {
    const u = await newUser();
    const before = await storedObjects();
    const jpeg = await noisy(600, 400).jpeg().toBuffer();
    const res = await uploadFiles(u.jwt, [
      { name: "ok.jpg", data: jpeg },
      { name: "broken.jpg", data: jpeg.subarray(0, jpeg.length / 2) },
    ]);
    await expectRefused(res, 415, "unsupported_media_type", u.id, before);
    expect(res.json().error.message).toMatch(/damaged|decoded/);
  });
  it("decodes at most UPLOAD_IMAGE_CONCURRENCY images at once; the rest wait their turn", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mc-images-"));
    try {
      const images = new ImageProcessor({ maxInputPixels: 50_000_000, maxDimension: 2048, thumbnailDimension: 400, quality: 80, concurrency: 1 });
      const input = join(dir, "in.jpg");
      await noisy(2400, 1800).jpeg().toFile(input);
      let maxActive = 0;
      let maxWaiting = 0;
      const jobs = [0, 1, 2].map((i) => images.process(input, join(dir, `out${i}`), "image/jpeg"));
      const watch = setInterval(() => {
        maxActive = Math.max(maxActive, images.load.active);
        maxWaiting = Math.max(maxWaiting, images.load.waiting);
      }, 1);
      const results = await Promise.all(jobs).finally(() => clearInterval(watch));
      expect(results.map((r) => [r.width, r.height])).toEqual([[2048, 1536], [2048, 1536], [2048, 1536]]);
      expect(maxActive).toBe(1);
      expect(maxWaiting).toBe(2);
      expect(images.load).toEqual({ active: 0, waiting: 0 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("counts stored uploads and bytes in /metrics", async () => {
    const u = await newUser();
    expect((await uploadFiles(u.jwt, [{ name: "m.jpg", data: await noisy(40, 30).jpeg().toBuffer() }])).statusCode).toBe(201);
    const res = await app.inject({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/^marketchat_uploads_total\{kind="image"[^}]*\} [1-9]\d*$/m);
    expect(res.body).toMatch(/^marketchat_upload_stored_bytes_total\{[^}]*\} [1-9]\d*$/m);
    expect(res.body).toMatch(/^marketchat_image_jobs\{state="waiting"[^}]*\} 0$/m);
  });
});

describe("files", () => {
  it("stores a PDF as sent, typed by its bytes, with a safe name", async () => {
    const u = await newUser();
    const body = pdf();
    const res = await uploadFiles(u.jwt, [{ name: "Invoice 2024-07.PDF", data: body, type: "text/html" }]);
    expect(res.statusCode, res.body).toBe(201);
    const [a] = res.json().attachments;
    expect(a).toEqual({
      id: expect.any(String),
      kind: "file",
      mimeType: "application/pdf",
      name: "Invoice 2024-07.pdf",
      size: body.length,
      url: expect.stringMatching(/^\/api\/attachments\//),
    });
    const stored = await download(a.url);
    expect(stored.rawPayload.equals(body)).toBe(true);
  });

  it("gives a PDF named like a program the extension of what it is", async () => {
    const u = await newUser();
    const res = await uploadFiles(u.jwt, [{ name: "setup.exe", data: pdf() }]);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().attachments[0].name).toBe("setup.exe.pdf");
  });

  it("reduces path tricks and invisible characters in file names to a plain name, storing nothing outside UPLOAD_DIR", async () => {
    const u = await newUser();
    const res = await upload(
      u.jwt,
      rawMultipart([
        { name: "../../../../tmp/evil.pdf", data: pdf() },
        { name: "..\\..\\windows\\system32\\invoice\u202Efdp.exe", data: pdf() },
        { name: "....", data: pdf() },
      ]),
    );
    expect(res.statusCode, res.body).toBe(201);
    const names = res.json().attachments.map((a: { name: string }) => a.name);
    expect(names[0]).toBe("evil.pdf");
    expect(names[1]).not.toMatch(/[\u202E/\\]/);
    expect(names[1]).toMatch(/\.pdf$/);
    expect(names[2]).toBe("file.pdf");
    const objects = [...(await readdir(uploadDir, { recursive: true })), ...(await storedObjects())];
    expect(objects.every((p) => !p.includes(".."))).toBe(true);
  });

  it("refuses a text file named .png, and an HTML page sent as image/png, with unsupported_media_type", async () => {
    const u = await newUser();
    const before = await storedObjects();
    for (const file of [
      { name: "photo.png", data: "just some text, not a picture\n".repeat(20), type: "image/png" },
      { name: "photo.png", data: "<html><script>alert(1)</script></html>", type: "image/png" },
      { name: "archive.zip", data: Buffer.from("504b0304140000000000", "hex") },
    ]) {
      await expectRefused(await uploadFiles(u.jwt, [file]), 415, "unsupported_media_type", u.id, before);
    }
  });
});

describe("limits", () => {
  it("refuses 11 files with payload_too_large and keeps none of them", async () => {
    const u = await newUser();
    const before = await storedObjects();
    const files = Array.from({ length: 11 }, (_, i) => ({ name: `doc${i}.pdf`, data: pdf(100) }));
    await expectRefused(await uploadFiles(u.jwt, files), 413, "payload_too_large", u.id, before);
  });

  it("takes 10 files", async () => {
    const u = await newUser();
    const files = Array.from({ length: 10 }, (_, i) => ({ name: `doc${i}.pdf`, data: pdf(100) }));
    const res = await uploadFiles(u.jwt, files);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().attachments.map((a: { name: string }) => a.name)).toEqual(files.map((f) => f.name));
  });

  it("refuses a file over UPLOAD_MAX_FILE_BYTES, even after a good one", async () => {
    const u = await newUser();
    const before = await storedObjects();
    const res = await uploadFiles(u.jwt, [
      { name: "ok.pdf", data: pdf(100) },
      { name: "big.pdf", data: pdf(MAX_FILE_BYTES + 10) },
    ]);
    await expectRefused(res, 413, "payload_too_large", u.id, before);
    expect(res.json().error.message).toContain("big.pdf");
  });

  it("refuses files that together exceed UPLOAD_MAX_REQUEST_BYTES", async () => {
    const u = await newUser();
    const before = await storedObjects();
    const res = await uploadFiles(u.jwt, [
      { name: "a.pdf", data: pdf(MAX_FILE_BYTES - 100) },
      { name: "b.pdf", data: pdf(MAX_FILE_BYTES - 100) },
    ]);
    await expectRefused(res, 413, "payload_too_large", u.id, before);
  });

  it("refuses a Content-Length far over the request limit before reading the body", async () => {
    const u = await newUser();
    const res = await app.inject({
      method: "POST",
      url: "/api/uploads",
      headers: { ...auth(u.jwt), "content-type": "multipart/form-data; boundary=x", "content-length": String(MAX_REQUEST_BYTES * 4) },
      payload: Buffer.alloc(10),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe("payload_too_large");
  });
});

describe("bad input", () => {
  it("refuses a zero-byte file with validation_failed", async () => {
    const u = await newUser();
    const before = await storedObjects();
    await expectRefused(await uploadFiles(u.jwt, [{ name: "empty.pdf", data: Buffer.alloc(0) }]), 400, "validation_failed", u.id, before);
  });

  it("refuses files in another field, and a form without files, with validation_failed", async () => {
    const u = await newUser();
    const before = await storedObjects();
    await expectRefused(await uploadFiles(u.jwt, [{ field: "files", name: "a.pdf", data: pdf() }]), 400, "validation_failed", u.id, before);
    await expectRefused(await upload(u.jwt, await multipartBody([], { caption: "hello" })), 400, "validation_failed", u.id, before);
  });

  it("refuses a multipart body cut off inside a file with validation_failed", async () => {
    const u = await newUser();
    const before = await storedObjects();
    const whole = rawMultipart([
      { name: "a.pdf", data: pdf(50_000) },
      { name: "b.pdf", data: pdf(50_000) },
    ]);
    for (const cut of [0.3, 0.75]) {
      const res = await upload(u.jwt, { ...whole, payload: whole.payload.subarray(0, Math.floor(whole.payload.length * cut)) });
      await expectRefused(res, 400, "validation_failed", u.id, before);
    }
    const unclosed = rawMultipart([{ name: "a.pdf", data: pdf(1000) }], { closing: false });
    await expectRefused(await upload(u.jwt, unclosed), 400, "validation_failed", u.id, before);
  });

  it("cleans up after a client that hangs up mid-upload, and keeps serving", async () => {
    const u = await newUser();
    const before = await storedObjects();
    const body = rawMultipart([{ name: "a.pdf", data: pdf(400_000) }]);
    const socket = connect({ host: "127.0.0.1", port: (app.server.address() as AddressInfo).port });
    await new Promise((resolve) => socket.once("connect", resolve));
    const head =
      `POST /api/uploads HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${u.jwt}\r\n` +
      `Content-Type: ${body.headers["content-type"]}\r\nContent-Length: ${body.payload.length}\r\n\r\n`;
    socket.write(head);
    socket.write(body.payload.subarray(0, 200_000));
    // Wait until the server has started staging the file, then vanish.
    await expect.poll(stagingEntries, { timeout: 10_000 }).not.toEqual([]);
    socket.destroy();
    await expect.poll(stagingEntries, { timeout: 10_000 }).toEqual([]);
    expect(await rowsOf(u.id)).toBe(0);
    expect(await storedObjects()).toEqual(before);
    const after = await uploadFiles(u.jwt, [{ name: "b.pdf", data: pdf() }]);
    expect(after.statusCode).toBe(201);
  });

  it("refuses garbage with a multipart content type, and a multipart type without a boundary", async () => {
    const u = await newUser();
    const before = await storedObjects();
    const garbage = await upload(u.jwt, { payload: Buffer.from("this is not multipart at all"), headers: { "content-type": "multipart/form-data; boundary=zzz" } });
    await expectRefused(garbage, 400, "validation_failed", u.id, before);
    const noBoundary = await upload(u.jwt, { payload: Buffer.from("--x\r\n"), headers: { "content-type": "multipart/form-data" } });
    await expectRefused(noBoundary, 400, "validation_failed", u.id, before);
  });

  it("answers a JSON or other non-multipart body with unsupported_media_type", async () => {
    const u = await newUser();
    const json = await app.inject({ method: "POST", url: "/api/uploads", headers: auth(u.jwt), payload: { file: "x" } });
    expect(json.statusCode).toBe(415);
    expect(json.json().error).toEqual({ code: "unsupported_media_type", message: expect.stringContaining("multipart/form-data"), requestId: expect.any(String) });
    const octets = await upload(u.jwt, { payload: pdf(), headers: { "content-type": "application/pdf" } });
    expect(octets.statusCode).toBe(415);
    expect(await rowsOf(u.id)).toBe(0);
  });

  it("needs a user token", async () => {
    const body = await multipartBody([{ name: "a.pdf", data: pdf() }]);
    const none = await app.inject({ method: "POST", url: "/api/uploads", headers: body.headers, payload: body.payload });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe("unauthorized");
    const service = await upload(token("marketplace-backend", { role: "service" }), body);
    expect(service.statusCode).toBe(403);
  });
});

describe("storage backend", () => {
  it("stores where the run says: in the s3 project the bytes are in the bucket and none under UPLOAD_DIR", async () => {
    const u = await newUser();
    const res = await uploadFiles(u.jwt, [{ name: "where.pdf", data: pdf() }]);
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().attachments[0].id as string;
    expect(await storedObjects()).toContain(`${id}.pdf`);
    const entries = await readdir(uploadDir, { recursive: true });
    expect(entries.some((e) => e.includes(id))).toBe(TEST_S3_ENDPOINT === undefined);
    expect(env.storage?.STORAGE ?? "local").toBe(TEST_S3_ENDPOINT ? "s3" : "local");
  });
});
