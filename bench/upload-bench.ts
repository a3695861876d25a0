// Upload benchmark: 12-megapixel camera JPEGs (EXIF with GPS, some rotated) sent over real HTTP to
// a service node in its own process, from the multipart body to the stored, re-encoded image and
// its thumbnail. Measures images per second with several clients at once, the latency of one
// photo and of a six-photo message, the node's peak RSS, and the bytes saved by re-encoding.
//
//   npx tsx bench/upload-bench.ts [--quick]
//
// bench/run.ts calls runUploadBench() as part of `npm run bench`. Figures are printed and written
// to bench/results/upload-bench.json; nothing here fails on a timing.
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { openAsBlob } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import sharp from "sharp";
import { startNode, type NodeProcess } from "../test/support/cluster.js";
import { serviceToken, token } from "../test/support/tokens.js";
import { createBenchEnv, type BenchEnv } from "./support/bench-env.js";
import { cpuSeconds, machineDescription, rssBytes } from "./support/proc-stats.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WIDTH = 4000;
const HEIGHT = 3000;
const CLIENTS = 4;
const RSS_SAMPLE_MS = 20;
const MB = 1024 * 1024;

export interface UploadBenchResult {
  imagesPerSecond: number;
  peakRssMb: number;
  bytesIn: number;
  bytesOut: number;
  /** Everything else measured, for the JSON report. */
  details: {
    machine: ReturnType<typeof machineDescription>;
    photo: { width: number; height: number; megapixels: number };
    clients: number;
    imageConcurrency: number;
    throughputImages: number;
    throughputSeconds: number;
    /** CPU time of the node per image (all threads): the figure least disturbed by other load. */
    cpuMsPerImage: number;
    /** The machine's 1/5/15-minute load averages at the end (other processes share the cores). */
    loadAverage: number[];
    singlePhotoMs: { p50: number; max: number; runs: number };
    sixPhotoMessageMs: number;
    baselineRssMb: number;
    thumbnailBytes: number;
    sample: { bytesIn: number; bytesOut: number; thumbnailBytes: number; savedPercent: number; exifLeft: boolean; outputWidth: number; outputHeight: number };
    stagingLeft: number;
  };
}

interface Uploaded {
  id: string;
  size: number;
  width: number;
  height: number;
  url: string;
  thumbnailUrl: string;
}

export async function runUploadBench(opts: { quick: boolean }): Promise<UploadBenchResult> {
  const env: BenchEnv = await createBenchEnv();
  const work = await mkdtemp(join(tmpdir(), "mc-upload-bench-"));
  const uploadDir = join(work, "uploads");
  let node: NodeProcess | null = null;
  try {
    log(`generating ${opts.quick ? 2 : 4} synthetic ${WIDTH}×${HEIGHT} camera JPEGs…`);
    const photos = await makePhotos(work, opts.quick ? 2 : 4);
    const imageConcurrency = 2;
    node = await startNode(env, "upload-bench", {
      UPLOAD_DIR: uploadDir,
      UPLOAD_MAX_FILE_BYTES: String(30 * MB),
      UPLOAD_MAX_REQUEST_BYTES: String(200 * MB),
      UPLOAD_IMAGE_CONCURRENCY: String(imageConcurrency),
      // One benchmark user uploads far faster than any person would.
      RATE_LIMIT_UPLOADS: "off",
      RATE_LIMIT_ANONYMOUS: "off",
      UPLOADS_IN_FLIGHT_PER_USER: "0",
    });
    const base = node.url;
    const pid = node.child.pid!;
    await put(`${base}/api/internal/users/bench-seller`, { name: "Bench Seller" });
    const jwt = token("bench-seller");
    const upload = (paths: string[]) => uploadFiles(base, jwt, paths);

    // Warm-up: first requests load sharp, file-type and the route's code paths.
    await upload([photos[0]!.path]);
    const baselineRss = rssBytes(pid) ?? 0;
    const sampler = sampleRss(pid);

    // One photo at a time: the latency a seller sees for a single picture.
    const singleRuns = opts.quick ? 3 : 8;
    const single: number[] = [];
    let sample: Uploaded | null = null;
    for (let i = 0; i < singleRuns; i++) {
      const photo = photos[i % photos.length]!;
      const t0 = performance.now();
      const [a] = await upload([photo.path]);
      single.push(performance.now() - t0);
      if (i === 0) sample = a!;
    }

    // The case: six photos in one request.
    const t6 = performance.now();
    await upload(Array.from({ length: 6 }, (_, i) => photos[i % photos.length]!.path));
    const sixPhotoMessageMs = performance.now() - t6;

    // Throughput: CLIENTS clients, one photo per request, until `total` photos are stored.
    const total = opts.quick ? 8 : 40;
    let next = 0;
    let bytesIn = 0;
    let bytesOut = 0;
    let thumbnailBytes = 0;
    const thumbnails: string[] = [];
    const cpu0 = cpuSeconds(pid) ?? 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < total) {
          const photo = photos[next++ % photos.length]!;
          const [a] = await upload([photo.path]);
          bytesIn += photo.size;
          bytesOut += a!.size;
          thumbnails.push(a!.thumbnailUrl);
        }
      }),
    );
    const throughputSeconds = (performance.now() - t0) / 1000;
    const cpuMsPerImage = (((cpuSeconds(pid) ?? 0) - cpu0) * 1000) / total;
    const peakRss = sampler.stop();
    for (const url of thumbnails) thumbnailBytes += Number((await fetch(`${base}${url}`, { method: "HEAD" })).headers.get("content-length"));

    const stored = Buffer.from(await (await fetch(`${base}${sample!.url}`)).arrayBuffer());
    const sampleThumb = Number((await fetch(`${base}${sample!.thumbnailUrl}`, { method: "HEAD" })).headers.get("content-length"));
    const exifLeft = (await sharp(stored).metadata()).exif !== undefined;
    const sampleIn = photos[0]!.size;
    const stagingLeft = (await readdir(join(uploadDir, ".staging")).catch(() => [])).length;

    const result: UploadBenchResult = {
      imagesPerSecond: round(total / throughputSeconds, 2),
      peakRssMb: round(peakRss / MB, 1),
      bytesIn,
      bytesOut,
      details: {
        machine: machineDescription(),
        photo: { width: WIDTH, height: HEIGHT, megapixels: (WIDTH * HEIGHT) / 1e6 },
        clients: CLIENTS,
        imageConcurrency,
        throughputImages: total,
        throughputSeconds: round(throughputSeconds, 2),
        cpuMsPerImage: round(cpuMsPerImage, 0),
        loadAverage: loadavg().map((l) => round(l, 2)),
        singlePhotoMs: { p50: round(median(single), 0), max: round(Math.max(...single), 0), runs: singleRuns },
        sixPhotoMessageMs: round(sixPhotoMessageMs, 0),
        baselineRssMb: round(baselineRss / MB, 1),
        thumbnailBytes,
        sample: {
          bytesIn: sampleIn,
          bytesOut: stored.length,
          thumbnailBytes: sampleThumb,
          savedPercent: round((1 - stored.length / sampleIn) * 100, 1),
          exifLeft,
          outputWidth: sample!.width,
          outputHeight: sample!.height,
        },
        stagingLeft,
      },
    };
    report(result);
    const outDir = join(ROOT, "bench/results");
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, "upload-bench.json"), `${JSON.stringify(result, null, 2)}\n`);
    log(`written to bench/results/upload-bench.json`);
    return result;
  } finally {
    await node?.stop();
    await env.close();
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Camera-like JPEGs: smooth shapes with sensor grain (noise alone would be incompressible, flat
 * colour would be unrealistically small), quality 92, EXIF with GPS; every other one is stored
 * sideways with orientation 6, as phones do.
 */
async function makePhotos(dir: string, count: number): Promise<{ path: string; size: number }[]> {
  const scene = await sharp({ create: { width: 80, height: 60, channels: 3, noise: { type: "gaussian", mean: 128, sigma: 60 }, background: "#000" } })
    .resize(WIDTH, HEIGHT, { kernel: "cubic" })
    .composite([{ input: { create: { width: WIDTH, height: HEIGHT, channels: 3, noise: { type: "gaussian", mean: 128, sigma: 24 }, background: "#000" } }, blend: "soft-light" }])
    .raw()
    .toBuffer({ resolveWithObject: true });
  const photos: { path: string; size: number }[] = [];
  for (let i = 0; i < count; i++) {
    const raw = { width: scene.info.width, height: scene.info.height, channels: scene.info.channels };
    let img = sharp(scene.data, { raw });
    if (i % 2 === 1) img = img.flop();
    if (i >= 2) img = img.modulate({ hue: 40 * i });
    const jpeg = await img
      .jpeg({ quality: 92 })
      .withExif({
        IFD0: { Make: "Google", Model: "Pixel 8", Software: "HDR+ 1.0" },
        IFD3: { GPSLatitudeRef: "N", GPSLatitude: "48/1 51/1 2433/100", GPSLongitudeRef: "E", GPSLongitude: "2/1 21/1 714/100" },
      })
      .withMetadata({ orientation: i % 2 === 1 ? 6 : 1 })
      .toBuffer();
    const path = join(dir, `photo-${i}.jpg`);
    await writeFile(path, jpeg);
    photos.push({ path, size: (await stat(path)).size });
  }
  return photos;
}

async function uploadFiles(base: string, jwt: string, paths: string[]): Promise<Uploaded[]> {
  const form = new FormData();
  for (const path of paths) form.append("file", await openAsBlob(path, { type: "image/jpeg" }), path.split("/").pop());
  const res = await fetch(`${base}/api/uploads`, { method: "POST", headers: { authorization: `Bearer ${jwt}` }, body: form });
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { attachments: Uploaded[] }).attachments;
}

async function put(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, {
    method: "PUT",
    headers: { authorization: `Bearer ${serviceToken()}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`PUT ${url}: ${res.status} ${await res.text()}`);
}

function sampleRss(pid: number): { stop(): number } {
  let peak = rssBytes(pid) ?? 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssBytes(pid) ?? 0);
  }, RSS_SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssBytes(pid) ?? 0);
    },
  };
}

function report(r: UploadBenchResult): void {
  const d = r.details;
  const kb = (n: number) => `${Math.round(n / 1024).toLocaleString("en")} KB`;
  console.log(
    [
      "",
      `Uploads: ${d.photo.megapixels} MP camera JPEGs → re-encoded (long side ≤ 2048) + thumbnail, ${d.clients} clients, ${d.imageConcurrency} images decoded at once`,
      `  machine                ${d.machine.cpu} × ${d.machine.cores}, ${d.machine.memoryGb} GB, Node ${d.machine.node}, load average ${d.loadAverage.join(" / ")}`,
      `  throughput             ${r.imagesPerSecond} images/s (${d.throughputImages} images in ${d.throughputSeconds} s), ${d.cpuMsPerImage} ms CPU per image`,
      `  one photo              p50 ${d.singlePhotoMs.p50} ms, max ${d.singlePhotoMs.max} ms (${d.singlePhotoMs.runs} runs)`,
      `  six photos, 1 request  ${d.sixPhotoMessageMs} ms`,
      `  node RSS               ${d.baselineRssMb} MB idle after warm-up, ${r.peakRssMb} MB peak`,
      `  bytes                  in ${kb(r.bytesIn)}, out ${kb(r.bytesOut)} (+ thumbnails ${kb(d.thumbnailBytes)}): ${round((1 - r.bytesOut / r.bytesIn) * 100, 1)}% saved`,
      `  sample photo           ${kb(d.sample.bytesIn)} → ${kb(d.sample.bytesOut)} (${d.sample.outputWidth}×${d.sample.outputHeight}), thumbnail ${kb(d.sample.thumbnailBytes)}, ${d.sample.savedPercent}% saved, EXIF left: ${d.sample.exifLeft ? "YES" : "no"}`,
      `  staging files left     ${d.stagingLeft}`,
      "",
    ].join("\n"),
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function log(line: string): void {
  console.log(`[upload-bench] ${line}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runUploadBench({ quick: process.argv.includes("--quick") }).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
