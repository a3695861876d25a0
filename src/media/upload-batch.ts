// One upload request's files, from the multipart stream to the store. Each file is streamed to
// a staging file (memory stays flat whatever the size), typed by its bytes, then images are
// re-encoded and everything is moved into FileStorage. Staging lives in a directory of the batch's
// own, removed as a whole at the end, so no temp file outlives the request whatever fails; stored
// objects are deleted again when the batch is discarded.
import { randomUUID } from "node:crypto";
import type { StoredAttachment } from "../db/records.js";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { AppError, invalid } from "../errors/errors.js";
import type { ContentSniffer } from "./content-sniffer.js";
import { attachmentKeys, type FileStorage } from "./file-storage.js";
import type { DetectedType } from "./file-types.js";
import type { ImageProcessor } from "./image-processor.js";
import { cleanName, safeFileName } from "./safe-file-name.js";

/** A file of a multipart request as the transport hands it over. */
export interface UploadPart {
  filename: string | undefined;
  stream: Readable;
  /** True when the transport cut the file at its own size limit. */
  truncated(): boolean;
}

export interface UploadLimits {
  maxFileBytes: number;
  maxRequestBytes: number;
}

/** A stored upload, ready to be recorded. */
export type PreparedUpload = StoredAttachment & {
  /** Bytes received, before re-encoding (for metrics and the benchmark). */
  receivedBytes: number;
};

interface StagedFile {
  path: string;
  bytes: number;
  clientName: string | undefined;
  type: DetectedType;
}

export interface MediaPipelineDeps {
  storage: FileStorage;
  images: ImageProcessor;
  sniffer: ContentSniffer;
  /** Local scratch space; best on the same filesystem as local storage (a rename, not a copy). */
  stagingDir: string;
  limits: UploadLimits;
}

export class MediaPipeline {
  constructor(private readonly deps: MediaPipelineDeps) {}

  batch(): UploadBatch {
    return new UploadBatch(this.deps);
  }

  /**
   * Removes staging directories left by a process that died mid-upload. `olderThanMs` must exceed
   * the longest upload, since several nodes may share the staging directory.
   */
  async sweepStaging(olderThanMs: number, now = Date.now()): Promise<number> {
    let entries: string[];
    try {
      entries = await readdir(this.deps.stagingDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
      throw err;
    }
    let removed = 0;
    for (const entry of entries) {
      const path = join(this.deps.stagingDir, entry);
      const info = await stat(path).catch(() => null);
      if (info && now - info.mtimeMs > olderThanMs) {
        await rm(path, { recursive: true, force: true });
        removed += 1;
      }
    }
    return removed;
  }
}

export class UploadBatch {
  private readonly dir: string;
  private readonly staged: StagedFile[] = [];
  private readonly storedKeys: string[] = [];
  private readonly abort = new AbortController();
  private receivedBytes = 0;
  private dirReady: Promise<unknown> | null = null;

  constructor(private readonly deps: MediaPipelineDeps) {
    this.dir = join(deps.stagingDir, randomUUID());
  }

  get fileCount(): number {
    return this.staged.length;
  }

  /** Streams one file to staging and types it; refuses it (and the request) as soon as it is wrong. */
  async add(part: UploadPart): Promise<void> {
    const { limits, sniffer } = this.deps;
    this.dirReady ??= mkdir(this.dir, { recursive: true });
    await this.dirReady;
    const path = join(this.dir, `${this.staged.length}.upload`);
    const label = describeName(part.filename, this.staged.length);
    // The parser destroys a file's stream when the body ends inside it, possibly before we get to
    // read it; stream.pipeline() would then wait forever for an end that never comes.
    if (part.stream.destroyed) throw invalid(`The upload was cut off inside ${label}`);
    let bytes = 0;
    const counter = new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        bytes += chunk.length;
        this.receivedBytes += chunk.length;
        if (bytes > limits.maxFileBytes) return done(tooLarge(`${label} is larger than ${mb(limits.maxFileBytes)}`));
        if (this.receivedBytes > limits.maxRequestBytes) {
          return done(tooLarge(`The files of one upload may total at most ${mb(limits.maxRequestBytes)}`));
        }
        done(null, chunk);
      },
    });
    try {
      await pipeline(part.stream, counter, createWriteStream(path, { flags: "wx" }));
    } catch (err) {
      if (err instanceof AppError || (err as NodeJS.ErrnoException).syscall) throw err;
      // Anything else comes from the multipart parser: the body ended inside a file.
      throw invalid(`The upload was cut off inside ${label}`);
    }
    if (part.truncated()) throw tooLarge(`${label} is larger than ${mb(limits.maxFileBytes)}`);
    if (bytes === 0) throw invalid(`${label} is empty`);
    const type = await sniffer.detect(path);
    if (!type) {
      throw new AppError("unsupported_media_type", `${label} is not a supported type (allowed: ${sniffer.describe()})`);
    }
    this.staged.push({ path, bytes, clientName: part.filename, type });
  }

  /** Re-encodes the images and stores every file; on failure nothing it stored is left. */
  async finish(): Promise<PreparedUpload[]> {
    const results = await Promise.allSettled(this.staged.map((file, i) => this.prepare(file, i)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
      await this.discard();
      throw failed.reason;
    }
    return results.map((r) => (r as PromiseFulfilledResult<PreparedUpload>).value);
  }

  /** Deletes what this batch stored (the upload is not going to be recorded). */
  async discard(): Promise<void> {
    const keys = this.storedKeys.splice(0);
    if (keys.length > 0) await this.deps.storage.delete(keys);
  }

  /** Removes the staging directory; call it whatever happened. */
  async cleanup(): Promise<void> {
    this.abort.abort();
    if (this.dirReady) await rm(this.dir, { recursive: true, force: true });
  }

  private async prepare(file: StagedFile, index: number): Promise<PreparedUpload> {
    const { images } = this.deps;
    const id = randomUUID();
    try {
      if (file.type.kind === "image") {
        const image = await images.process(file.path, join(this.dir, `${index}.out`), file.type.mime, this.abort.signal);
        const keys = attachmentKeys(id, image.ext);
        await this.store(keys.main, image.path, image.mime);
        await this.store(keys.thumbnail, image.thumbnailPath, image.mime);
        return {
          id,
          kind: "image",
          mimeType: image.mime,
          name: safeFileName(file.clientName, "image", image.ext, true),
          size: image.size,
          width: image.width,
          height: image.height,
          storageKey: keys.main,
          thumbnailKey: keys.thumbnail,
          receivedBytes: file.bytes,
        };
      }
      const key = attachmentKeys(id, file.type.ext).main;
      await this.store(key, file.path, file.type.mime);
      return {
        id,
        kind: "file",
        mimeType: file.type.mime,
        name: safeFileName(file.clientName, "file", file.type.ext, false),
        size: file.bytes,
        width: null,
        height: null,
        storageKey: key,
        thumbnailKey: null,
        receivedBytes: file.bytes,
      };
    } catch (err) {
      // The first failure stops the images still waiting for a decoding slot.
      this.abort.abort(err);
      throw err;
    }
  }

  private async store(key: string, path: string, contentType: string): Promise<void> {
    this.storedKeys.push(key);
    await this.deps.storage.putFile(key, path, contentType);
  }
}

function describeName(name: string | undefined, index: number): string {
  const shown = [...cleanName(name)].slice(0, 60).join("");
  return shown ? `"${shown}"` : `file ${index + 1}`;
}

function tooLarge(message: string): AppError {
  return new AppError("payload_too_large", message);
}

function mb(bytes: number): string {
  return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
}
