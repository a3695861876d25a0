// The test files' view of storage, whichever backend the run uses: in the s3 project
// (TEST_S3_FILE set by vitest.config.ts) every test file gets a bucket of its own on the run's
// S3 protocol server, and "stored objects" are that bucket's keys; otherwise they are the files
// under UPLOAD_DIR outside staging. Only file names are compared ("<uuid>.jpg").
import { readFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { basename, join } from "node:path";

/** The s3 project's S3 endpoint, or undefined for local storage. */
export const TEST_S3_ENDPOINT = process.env.TEST_S3_FILE ? readFileSync(process.env.TEST_S3_FILE, "utf8").trim() : undefined;
const CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

async function client() {
  // Loaded only in the s3 project: local runs never load the AWS SDK.
  const { S3Client } = await import("@aws-sdk/client-s3");
  return new S3Client({ region: "us-east-1", endpoint: TEST_S3_ENDPOINT, forcePathStyle: true, credentials: CREDENTIALS });
}

/** A new bucket and the variables a node needs to use it (s3 project only). */
export async function createTestBucket(name: string): Promise<Record<string, string>> {
  const { CreateBucketCommand } = await import("@aws-sdk/client-s3");
  const s3 = await client();
  // Bucket names: 3-63 characters of a-z, 0-9 and "-".
  const bucket = name.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(-63).replace(/^-+/, "b");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  s3.destroy();
  return {
    STORAGE: "s3",
    S3_BUCKET: bucket,
    S3_REGION: "us-east-1",
    S3_ENDPOINT: TEST_S3_ENDPOINT!,
    S3_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    S3_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    S3_FORCE_PATH_STYLE: "true",
  };
}

/** The names of the stored objects: the bucket's keys in the s3 project, else UPLOAD_DIR's files. */
export async function storedObjectNames(storage: Record<string, string> | undefined, uploadDir: string): Promise<string[]> {
  if (storage?.S3_BUCKET) {
    const { ListObjectsV2Command } = await import("@aws-sdk/client-s3");
    const s3 = await client();
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: storage.S3_BUCKET, ContinuationToken: token }));
      names.push(...(page.Contents ?? []).map((o) => basename(o.Key!)));
      token = page.NextContinuationToken;
    } while (token);
    s3.destroy();
    return names.sort();
  }
  const entries = await readdir(uploadDir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && !join(e.parentPath, e.name).includes(".staging")).map((e) => e.name).sort();
}
