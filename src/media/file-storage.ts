// Where attachment bytes live, behind one small interface so the backend is a configuration
// choice (STORAGE, media/storage-backend.ts; the pattern of cluster/event-bus.ts):
// local-file-storage.ts keeps them on disk under UPLOAD_DIR, s3-file-storage.ts in an
// S3-compatible store. Keys are already safe object names ("ab/<uuid>.jpg"). Staging stays on
// local disk in either case (sharp needs a seekable file), and downloads keep going through the
// service so the participant rules and signatures still apply.
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
