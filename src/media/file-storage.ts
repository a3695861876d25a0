// Where attachment bytes live, behind one small interface so the backend is a configuration
// choice (the pattern of cluster/event-bus.ts). local-file-storage.ts keeps them on disk under
// UPLOAD_DIR. An S3-compatible store (AWS S3, MinIO, R2, Ceph) fits the same four calls:
//   putFile → PutObject with a read stream of the local file and ContentType/ContentLength
//             (objects are at most UPLOAD_MAX_FILE_BYTES, below the 5 GB single-PUT limit),
//             then unlink the local file;
//   open    → HeadObject for the size, then GetObject with `Range: bytes=start-end` in read();
//   delete  → DeleteObjects in batches of 1,000 keys (a missing key is not an error there either).
// Keys are already safe object names ("ab/<uuid>.jpg"). Staging stays on local disk in either case
// (sharp needs a seekable file), and downloads keep going through the service so the
// participant rules and signatures still apply.
import type { Readable } from "node:stream";

/** Inclusive byte range, as in an HTTP Range header. */
export interface ByteRange {
  start: number;
  end: number;
}

/** An object opened for reading: its size is known before any byte is sent. */
export interface StoredObject {
  size: number;
  /** The bytes (all of them, or `range`); the stream owns the handle and closes it. */
  read(range?: ByteRange): Readable;
  /** Releases the handle when read() will not be called (HEAD, 304, 416). */
  close(): Promise<void>;
}

export interface FileStorage {
  /** Moves a finished local file into the store under `key`; the local file is gone afterwards. */
  putFile(key: string, localPath: string, contentType: string): Promise<void>;
  /** Null when there is no object under `key`. */
  open(key: string): Promise<StoredObject | null>;
  /** Deletes the objects; keys that do not exist are ignored. */
  delete(keys: readonly string[]): Promise<void>;
}

const KEY = /^[0-9a-f]{2}\/[0-9a-f-]{36}(\.[a-z]{1,8}){1,2}$/;

/** The storage keys of an attachment's bytes: "ab/<id>.jpg" and "ab/<id>.thumb.jpg". */
export function attachmentKeys(id: string, ext: string): { main: string; thumbnail: string } {
  const base = `${id.slice(0, 2)}/${id}`;
  return { main: `${base}.${ext}`, thumbnail: `${base}.thumb.${ext}` };
}

/** Keys come from our own database, but a storage backend still refuses anything else. */
export function assertKey(key: string): void {
  if (!KEY.test(key)) throw new Error(`invalid storage key ${JSON.stringify(key)}`);
}
