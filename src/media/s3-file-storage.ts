// FileStorage on an S3-compatible object store (AWS S3, MinIO, R2, Ceph; tested on s3rver):
// nodes then share no disk (README, "Object storage"). Only the finished bytes live there;
// staging stays on each node's local disk (sharp needs a seekable file). Downloads keep going
// through the node (attachment-routes.ts): the participant rules, URL signatures, Range and ETag
// behave exactly as with local storage, and clients never need to reach the store themselves.
//
// Loaded with a dynamic import only when STORAGE=s3 (storage-backend.ts), so a node on local disk
// never loads the AWS SDK.
import { createReadStream } from "node:fs";
import { stat, unlink } from "node:fs/promises";
import { PassThrough, type Readable } from "node:stream";
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { assertKey, type FileStorage, type StoredObject } from "./file-storage.js";

export interface S3StorageOptions {
  bucket: string;
  region: string;
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
}

// Files above this go up as a multipart upload in parts of this size (lib-storage's Upload), so
// a large file is never one long PUT that must restart from zero, nor held in memory whole.
const PART_BYTES = 8 * 1024 * 1024;
// DeleteObjects takes at most 1,000 keys per call.
const DELETE_BATCH = 1000;

export class S3FileStorage implements FileStorage {
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(options: S3StorageOptions) {
    this.bucket = options.bucket;
    const config: S3ClientConfig = {
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      // Checksums only where S3 requires them: the SDK's default (aws-chunked bodies with a
      // trailing CRC) is stored as is, framing included, by some S3-compatible servers (s3rver).
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      // Without keys: the SDK's default chain (environment, instance or pod role, ~/.aws).
      ...(options.accessKeyId && options.secretAccessKey
        ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }
        : {}),
    };
    this.client = new S3Client(config);
  }

  /**
   * Start-up check: the bucket exists and these credentials may use it. A store that does not
   * answer is not a configuration error (returns the error for a warning; uploads retry later).
   */
  async check(): Promise<{ misconfigured: string } | { unreachable: Error } | null> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return null;
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) return { misconfigured: "names a bucket that does not exist" };
      if (status === 401 || status === 403) return { misconfigured: "is not accessible with these credentials" };
      return { unreachable: err as Error };
    }
  }

  async putFile(key: string, localPath: string, contentType: string): Promise<void> {
    assertKey(key);
    const { size } = await stat(localPath);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: createReadStream(localPath), ContentType: contentType, ContentLength: size },
      partSize: PART_BYTES,
      queueSize: 2,
      // A failed multipart upload is aborted, not left as invisible parts that cost storage.
      leavePartsOnError: false,
    });
    await upload.done();
    await unlink(localPath);
  }

  async open(key: string): Promise<StoredObject | null> {
    assertKey(key);
    let head;
    try {
      head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
      throw err;
    }
    const size = head.ContentLength ?? 0;
    const etag = head.ETag;
    return {
      size,
      // The GET starts when the route reads; If-Match pins it to the object measured above, so a
      // concurrent unsend (delete) fails the download instead of serving other bytes.
      read: (range) => {
        const out = new PassThrough();
        this.client
          .send(
            new GetObjectCommand({
              Bucket: this.bucket,
              Key: key,
              ...(etag ? { IfMatch: etag } : {}),
              ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
            }),
          )
          .then(
            (res) => {
              const body = res.Body as Readable;
              body.on("error", (err) => out.destroy(err));
              // The client went away: stop fetching from the store too.
              out.on("close", () => body.destroy());
              body.pipe(out);
            },
            (err: Error) => out.destroy(err),
          );
        return out;
      },
      close: async () => undefined,
    };
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      batch.forEach(assertKey);
      // A missing key is not an error for DeleteObjects; errors of single keys are listed.
      const res = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
      const failed = (res.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
      if (failed.length > 0) throw new Error(`S3 delete failed for ${failed.length} object(s): ${failed[0]!.Code} ${failed[0]!.Message ?? ""}`);
    }
  }

  close(): void {
    this.client.destroy();
  }
}
