// STORAGE=local|s3 (README, "Object storage"): the FileStorage the node keeps attachment bytes
// in, checked at start-up. UPLOAD_DIR is always checked, as staging lives there in both cases.
// The S3 backend is imported only when chosen, so a node on local disk never loads the AWS SDK.
import type { FileStorage } from "./file-storage.js";
import { LocalFileStorage } from "./local-file-storage.js";

export interface StorageSettings {
  STORAGE: "local" | "s3";
  UPLOAD_DIR: string;
  S3_BUCKET?: string | undefined;
  S3_REGION: string;
  S3_ENDPOINT?: string | undefined;
  S3_ACCESS_KEY_ID?: string | undefined;
  S3_SECRET_ACCESS_KEY?: string | undefined;
  S3_FORCE_PATH_STYLE: boolean;
}

export interface StorageBackend {
  storage: FileStorage;
  close(): void;
}

/** A problem with one variable (the caller turns it into a ConfigError naming it). */
export class StorageSetupError extends Error {
  constructor(readonly variable: string, detail: string) {
    super(detail);
  }
}

export async function createStorageBackend(
  settings: StorageSettings,
  warn: (obj: object, msg: string) => void,
): Promise<StorageBackend> {
  // Checked first, so a bad UPLOAD_DIR stops start-up before any connection opens.
  const local = new LocalFileStorage(settings.UPLOAD_DIR);
  await local.ensureWritable().catch((err: Error) => {
    throw new StorageSetupError("UPLOAD_DIR", `is not a writable directory (${err.message})`);
  });
  if (settings.STORAGE === "local") return { storage: local, close: () => undefined };

  const { S3FileStorage } = await import("./s3-file-storage.js");
  const s3 = new S3FileStorage({
    bucket: settings.S3_BUCKET!,
    region: settings.S3_REGION,
    endpoint: settings.S3_ENDPOINT,
    accessKeyId: settings.S3_ACCESS_KEY_ID,
    secretAccessKey: settings.S3_SECRET_ACCESS_KEY,
    forcePathStyle: settings.S3_FORCE_PATH_STYLE,
  });
  const problem = await s3.check();
  if (problem && "misconfigured" in problem) {
    s3.close();
    throw new StorageSetupError("S3_BUCKET", problem.misconfigured);
  }
  // The store not answering is an outage, not a mistake: serve chat, uploads fail until it is back.
  if (problem) warn({ cause: problem.unreachable.message }, "object storage (S3) not reachable at start-up");
  return { storage: s3, close: () => s3.close() };
}
